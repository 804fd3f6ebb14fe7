"""Model bases shared by every family: `Backbone` and the `Classifier` head.

A zoo model is a task model (e.g. `ImageClassifier`) wrapping a backbone (a
feature extractor such as `ResNetBackbone`). Both are Keras functional
subclasses; the bases below hold what they all repeat: the classification
head, its argument checks, and the config that rebuilds a model from a
`.keras` file.

Example:

>>> class MyClassifier(Classifier):
...     def __init__(self, backbone, num_classes, **kwargs):
...         inputs = keras.Input(shape=backbone.input_shape[1:], name="inputs")
...         super().__init__(inputs, backbone(inputs), backbone=backbone,
...                          num_classes=num_classes, **kwargs)
"""

from __future__ import annotations

import keras

from zoo import validation
from zoo.recipes import dtype_policy_scope

CLASSIFIER_ACTIVATIONS = ("softmax", "sigmoid", "linear", None)


class Backbone(keras.Model):
    """A base for feature extractors whose config is their constructor arguments.

    A subclass builds its functional graph, calls `super().__init__(inputs=...,
    outputs=..., **kwargs)`, then `self._remember_config(...)` with the
    arguments `cls(...)` needs to rebuild it. `get_config` returns them next to
    `name` and `trainable`; `from_config` passes them back to the constructor.
    Keep the values JSON-friendly (lists rather than tuples), since they are
    what a `.keras` file stores.

    Not registered for serialization itself: each subclass registers under
    its own name, which saved files refer to.

    Args:
        *args: passed to `keras.Model` (functional style: `inputs`, `outputs`).
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> @keras.saving.register_keras_serializable(package="zoo")
    ... class DenseBackbone(Backbone):
    ...     def __init__(self, input_dim, units=16, **kwargs):
    ...         inputs = keras.Input(shape=(input_dim,))
    ...         outputs = keras.layers.Dense(units)(inputs)
    ...         super().__init__(inputs=inputs, outputs=outputs, **kwargs)
    ...         self._remember_config(input_dim=input_dim, units=units)
    >>> DenseBackbone(4).get_config()
    {'name': 'dense_backbone', 'trainable': True, 'input_dim': 4, 'units': 16}
    """

    def _remember_config(self, **arguments):
        """Records the constructor arguments `get_config` returns.

        Call it after `super().__init__`: Keras functional subclasses accept
        attributes only from then on.

        Args:
            **arguments: the values `cls(**arguments)` rebuilds the model from.
        """
        self._constructor_config = dict(arguments)

    def get_config(self):
        # Keras' attribute tracking wraps stored lists (TrackedList); hand
        # back plain lists so configs compare and serialize like the originals.
        remembered = getattr(self, "_constructor_config", {})
        return {
            "name": self.name,
            "trainable": self.trainable,
            **_policy_config(self),
            **{k: list(v) if isinstance(v, list) else v for k, v in remembered.items()},
        }

    @classmethod
    def from_config(cls, config):
        return rebuild_in_policy(cls, config)


class Classifier(keras.Model):
    """A base for task models: features -> dropout -> dense logits -> activation.

    A subclass builds its inputs and preprocessing, runs the backbone to get
    one feature vector per example, and passes both tensors here; this class
    adds the head, checks its arguments and implements `get_config` /
    `from_config`. Extra constructor arguments of the subclass enter the
    config through `_task_config()`.

    The head's layer names (`head_dropout`, `logits`, `predictions`) are part
    of saved weights; keep them. The output is float32 so that losses and
    exports stay stable under mixed precision.

    Not registered for serialization itself: each subclass registers under
    its own name (`ImageClassifier`, `TextClassifier`), which saved files
    refer to.

    Args:
        inputs: keras tensor or structure of them. The model's inputs.
        features: keras tensor. `(batch, features)` computed from `inputs`
            through `backbone`.
        backbone: keras.Model. The feature extractor; serialized into the
            config.
        num_classes: int. Number of output classes.
        dropout: float. Dropout rate before the head, in [0, 1).
        classifier_activation: str or None. One of `CLASSIFIER_ACTIVATIONS`;
            `"softmax"` returns probabilities, None or `"linear"` logits.
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> backbone = zoo.nlp.lstm.LSTMBackbone(vocabulary_size=100, sequence_length=16)
    >>> inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    >>> model = Classifier(inputs, backbone(inputs), backbone=backbone, num_classes=3)
    >>> model.output_shape
    (None, 3)
    """

    def __init__(
        self,
        inputs,
        features,
        *,
        backbone,
        num_classes,
        dropout=0.0,
        classifier_activation="softmax",
        **kwargs,
    ):
        num_classes, dropout, classifier_activation = self.check_head_arguments(
            num_classes, dropout, classifier_activation
        )
        x = features
        if dropout:
            x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        x = keras.layers.Dense(num_classes, name="logits")(x)
        outputs = keras.layers.Activation(
            classifier_activation or "linear", dtype="float32", name="predictions"
        )(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout
        self.classifier_activation = classifier_activation

    @staticmethod
    def check_head_arguments(num_classes, dropout, classifier_activation):
        """Validates the head's arguments and returns them normalized.

        `__init__` calls it; subclasses may call it first as well, so bad head
        arguments are reported before any graph is built. It is idempotent.

        Args:
            num_classes: int. Number of output classes (>= 1).
            dropout: float. Dropout rate in [0, 1); returned as a float.
            classifier_activation: str or None. One of `CLASSIFIER_ACTIVATIONS`.

        Example:

        >>> Classifier.check_head_arguments(10, 0, "softmax")
        (10, 0.0, 'softmax')
        """
        num_classes = validation.check_positive_int("num_classes", num_classes)
        dropout = validation.check_fraction("dropout", dropout)
        validation.check_choice(
            "classifier_activation", classifier_activation, CLASSIFIER_ACTIVATIONS
        )
        return num_classes, dropout, classifier_activation

    def _task_config(self):
        """Returns the subclass's own constructor arguments for `get_config`.

        Override it in subclasses with extra arguments; its keys follow the
        common ones in the config.
        """
        return {}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "classifier_activation": self.classifier_activation,
            **_policy_config(self),
            **self._task_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return rebuild_in_policy(cls, config)


def _policy_config(model) -> dict:
    """`{"dtype": policy name}` for a model built in mixed precision, else nothing.

    Float32 models keep the config they always had, so files saved before
    precision was recorded load as before.
    """
    name = model.dtype_policy.name
    return {} if name == "float32" else {"dtype": name}


def rebuild_in_policy(cls, config):
    """`cls(**config)` with the layers made under the config's dtype policy.

    A functional model's layers are made in its constructor and take the
    global dtype policy at that moment; passing `dtype` to `keras.Model`
    would not reach them. So the policy a model was built in (a mixed
    precision run's) is set globally while it is rebuilt, then restored.

    Args:
        cls: a `Backbone` or `Classifier` subclass.
        config: dict. From `get_config`, possibly with `"dtype"`.

    Example:

    >>> rebuild_in_policy(MyBackbone, {"input_dim": 4, "dtype": "mixed_bfloat16"})
    """
    config = dict(config)
    policy = config.pop("dtype", None)
    if isinstance(policy, dict):  # a serialized DTypePolicy
        policy = policy.get("config", {}).get("name")
    if policy is None:
        return cls(**config)
    with dtype_policy_scope(policy):
        return cls(**config)
