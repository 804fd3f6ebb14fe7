"""The text classification task model: any token-id backbone + a dense head."""

from __future__ import annotations

import keras

from zoo import validation
from zoo.vision.classifier import CLASSIFIER_ACTIVATIONS


@keras.saving.register_keras_serializable(package="zoo")
class TextClassifier(keras.Model):
    """Classifies token-id sequences with a backbone that pools to one vector.

    The model takes one input, `token_ids`: int32 `(batch, steps)`, 0 for
    padding, any number of steps up to the backbone's `sequence_length`.
    Tokenization stays outside (see `zoo.data.tokenizers`), so the same
    model exports to ONNX on token ids and to a SavedModel on raw strings.

    Args:
        backbone: keras.Model. Maps token ids to `(batch, features)`.
        num_classes: int. Number of output classes.
        dropout: float. Dropout before the head, in [0, 1).
        classifier_activation: str or None. `"softmax"` or None for logits.
        **kwargs: passed to `keras.Model` (`name`, `trainable`, `dtype`).

    Example:

    >>> backbone = zoo.nlp.lstm.LSTMBackbone(vocabulary_size=1000, sequence_length=32)
    >>> model = TextClassifier(backbone, num_classes=2)
    """

    def __init__(self, backbone, num_classes, dropout=0.0, classifier_activation="softmax",
                 **kwargs):
        num_classes = validation.check_positive_int("num_classes", num_classes)
        dropout = validation.check_fraction("dropout", dropout)
        validation.check_choice("classifier_activation", classifier_activation,
                                CLASSIFIER_ACTIVATIONS)
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        x = backbone(token_ids)
        if dropout:
            x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        x = keras.layers.Dense(num_classes, name="logits")(x)
        # A float32 output keeps losses and exports stable under mixed precision.
        outputs = keras.layers.Activation(classifier_activation or "linear", dtype="float32",
                                          name="predictions")(x)
        super().__init__(inputs=token_ids, outputs=outputs, **kwargs)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout
        self.classifier_activation = classifier_activation

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "classifier_activation": self.classifier_activation,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
