"""Fine-tuning from pretrained weights: a frozen-backbone warm-up, then the whole network.

Keras' transfer-learning guide trains a new head on a frozen backbone first
(`backbone.trainable = False`, batch norm in inference mode), then unfreezes
and trains everything at a lower rate, batch norm still in inference mode so
that a few batches of new data do not overwrite its statistics. A recipe
with `finetune=True` does that inside one `model.fit`:

- `Recipe.compile` builds the optimizer for every variable (Keras' optimizer
  only updates variables it was built with) on a `zoo.schedules.TwoPhase`
  rate: the recipe's rate for the warm-up, `finetune_lr_scale` times it on
  the recipe's own schedule after; with `finetune_layer_decay` < 1 each
  encoder layer's rate is scaled down with its depth (layer-wise decay, as
  in ELECTRA and BEiT fine-tuning).
- `Recipe.callbacks` starts with `FineTuning`, which freezes the backbone
  for the warm-up epochs and unfreezes it after, epoch by epoch, so a
  resumed run lands in the right phase.

Example:

>>> recipe = zoo.get_recipe("digits_resnet").replace(finetune=True)
>>> model = zoo.get_model("resnet20", weights="digits", num_classes=2)
>>> recipe.compile(model, steps_per_epoch=len(train))
>>> model.fit(train, epochs=recipe.epochs, callbacks=recipe.callbacks("runs/ft"))
"""

from __future__ import annotations

import re

import keras

from zoo import errors

# A numbered encoder layer in a variable path: keras-hub's `transformer_layer_3/...`.
_NUMBERED_LAYER = re.compile(r"layer_(\d+)/")


def backbone_of(model) -> keras.Model:
    """The feature extractor of a zoo (or keras-hub) task model.

    Args:
        model: keras.Model. A `zoo.models.Classifier` or keras-hub task.

    Raises:
        InvalidArgumentError: the model has no `backbone`.
    """
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, keras.layers.Layer):
        raise errors.InvalidArgumentError(
            f"Fine-tuning freezes a model's backbone, but {model.name!r} has no `backbone` "
            f"attribute. Received: a {type(model).__name__}; accepted: zoo models (a "
            f"zoo.models.Classifier) and keras-hub task models."
        )
    return backbone


def set_phase(model, *, frozen: bool, freeze_batchnorm: bool = True) -> None:
    """Freezes the backbone (warm-up) or unfreezes it (the whole network trains).

    A frozen layer is also an inference-mode layer for Keras 3's batch norm;
    with `freeze_batchnorm` the batch norm layers stay so after unfreezing.

    Args:
        model: keras.Model. See `backbone_of`.
        frozen: bool. True for the warm-up.
        freeze_batchnorm: bool. Keep batch norm frozen when unfreezing.

    Example:

    >>> set_phase(model, frozen=True)
    >>> len(model.trainable_weights)   # the head's kernel and bias
    2
    """
    backbone = backbone_of(model)
    backbone.trainable = not frozen
    if not frozen and freeze_batchnorm:
        for layer in backbone._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False


class FineTuning(keras.callbacks.Callback):
    """Freezes the backbone for `warmup_epochs`, then trains the whole network.

    The phase follows the epoch number, so a run resumed from a backup
    (`zoo.backup.StepBackup`) continues in the right phase; the optimizer must know
    every variable from the start (`Recipe.compile` with `finetune=True`
    builds it so). When training ends the layers are trainable as before.

    Args:
        warmup_epochs: int. Epochs with the backbone frozen.
        freeze_batchnorm: bool. Keep batch norm in inference mode afterwards.

    Example:

    >>> model.fit(train, epochs=6, callbacks=[FineTuning(warmup_epochs=2)])
    """

    def __init__(self, warmup_epochs: int, freeze_batchnorm: bool = True):
        super().__init__()
        self.warmup_epochs = int(warmup_epochs)
        self.freeze_batchnorm = bool(freeze_batchnorm)
        self._frozen = None
        self._flags = None

    def on_train_begin(self, logs=None):
        backbone = backbone_of(self.model)
        self._flags = [
            (layer, layer.trainable) for layer in [backbone, *backbone._flatten_layers()]
        ]
        self._frozen = None

    def on_epoch_begin(self, epoch, logs=None):
        frozen = epoch < self.warmup_epochs
        if frozen == self._frozen:
            return
        set_phase(self.model, frozen=frozen, freeze_batchnorm=self.freeze_batchnorm)
        self._frozen = frozen
        # The train step reads the trainable variables when it is traced.
        self.model.make_train_function(force=True)

    def on_train_end(self, logs=None):
        for layer, trainable in self._flags or ():
            layer.trainable = trainable
        self._frozen = None


def layer_scales(model, decay: float) -> dict:
    """Learning-rate factors per variable path for layer-wise decay.

    Embeddings (what comes before the first numbered layer) get
    `decay ** (n + 1)`, layer `i` of `n` gets `decay ** (n - i)`, and what
    follows the last layer (pooler) and the head get 1.

    Args:
        model: keras.Model. Its backbone's variables carry `layer_<i>/`.
        decay: float. In (0, 1].

    Raises:
        InvalidArgumentError: no numbered layers, or `decay` out of range.

    Example:

    >>> layer_scales(zoo.get_model("bert_tiny"), 0.5)["token_embedding/embeddings"]
    0.125
    """
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise errors.InvalidArgumentError(
            f"finetune_layer_decay must be in (0, 1]. Received: finetune_layer_decay={decay!r}."
        )
    paths = [v.path for v in backbone_of(model).weights]
    numbers = [int(m.group(1)) if (m := _NUMBERED_LAYER.search(p)) else None for p in paths]
    if decay == 1 or not any(n is not None for n in numbers):
        if decay != 1:
            raise errors.InvalidArgumentError(
                f"finetune_layer_decay={decay} needs an encoder of numbered layers "
                f"(`transformer_layer_<i>`), which {model.name!r} has not. Use "
                f"finetune_layer_decay=1.0 for it."
            )
        return {}
    count = max(n for n in numbers if n is not None) + 1
    scales, depth = {}, 0
    for path, number in zip(paths, numbers):
        if number is not None:
            depth = number + 1
        elif depth:  # after the encoder layers: the pooler, trained like the head
            depth = count + 1
        scales[path] = float(decay ** (count + 1 - depth))
    return scales


class _LayerScaled:
    """Scales each variable's learning rate by `lr_scales[variable.path]`.

    Keras optimizers have one rate for all variables (no parameter groups as
    in PyTorch), so `update_step`, the per-variable step every Keras
    optimizer implements, is given the scaled rate. Decoupled weight decay
    still uses the unscaled rate.
    """

    def __init__(self, *args, lr_scales=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lr_scales = {str(k): float(v) for k, v in (lr_scales or {}).items()}
        self._scales = []

    def build(self, variables):
        super().build(variables)
        self._scales = [self.lr_scales.get(v.path, 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        scale = self._scales[self._get_variable_index(variable)]
        if scale != 1.0:
            learning_rate = learning_rate * scale
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "lr_scales": dict(self.lr_scales)}


@keras.saving.register_keras_serializable(package="zoo")
class LayerScaledSGD(_LayerScaled, keras.optimizers.SGD):
    """`keras.optimizers.SGD` with per-variable rate factors (`lr_scales`)."""


@keras.saving.register_keras_serializable(package="zoo")
class LayerScaledAdam(_LayerScaled, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with per-variable rate factors (`lr_scales`)."""


@keras.saving.register_keras_serializable(package="zoo")
class LayerScaledAdamW(_LayerScaled, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with per-variable rate factors (`lr_scales`)."""


LAYER_SCALED = {"sgd": LayerScaledSGD, "adam": LayerScaledAdam, "adamw": LayerScaledAdamW}
