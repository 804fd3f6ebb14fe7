"""Keras callbacks zoo adds to a run.

`AverageMovingStatistics` keeps BatchNormalization's moving statistics
equal on every worker of a multi-worker run. Under MultiWorkerMirroredStrategy
each worker updates them from its own share of the batches, so without it the
chief's saved model would hold the chief's statistics only (one device, or
MirroredStrategy inside one process, need nothing: their replicas already
share one aggregated value). Written by hand: Keras has no such callback.

Example:

>>> model.fit(train, epochs=3, callbacks=[AverageMovingStatistics(), *others])
"""

from __future__ import annotations

import keras

from zoo import distribute


class AverageMovingStatistics(keras.callbacks.Callback):
    """At each epoch end, sets every worker's BN moving mean/variance to their mean.

    Does nothing outside a multi-worker strategy, and for synchronized batch
    norm layers (their statistics are already computed over all workers).
    Put it before the callbacks that save the model, so that checkpoints hold
    the averaged values.

    Example:

    >>> callbacks = [AverageMovingStatistics(), keras.callbacks.ModelCheckpoint("best.keras")]
    """

    def __init__(self):
        super().__init__()
        self._average = None

    def on_epoch_end(self, epoch, logs=None):
        strategy = self.model.distribute_strategy
        if not distribute.is_multi_worker(strategy):
            return
        if self._average is None:  # built once: the model's layers do not change
            self._average = _averaging_function(self.model, strategy)
        self._average()


def _averaging_function(model, strategy):
    """A tf.function that all-reduces the moving statistics (a no-op if none)."""
    import tensorflow as tf

    variables = [
        variable
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
        and not getattr(layer, "synchronized", False)
        for variable in (layer.moving_mean, layer.moving_variance)
    ]
    if not variables:
        return lambda: None

    @tf.function
    def average():
        # Each worker contributes its local value; the collective mean is the
        # same on all of them, so every saved copy of the model agrees.
        local = strategy.run(lambda: [tf.identity(v.value) for v in variables])
        for variable, value in zip(variables, local):
            variable.assign(strategy.reduce("MEAN", value, axis=None))

    return average
