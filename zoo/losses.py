"""Losses Keras does not ship in the form the recipes need."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
class SparseCategoricalCrossentropyWithSmoothing(keras.losses.Loss):
    """Cross-entropy on integer labels with label smoothing.

    Keras' `SparseCategoricalCrossentropy` has no `label_smoothing`, and the
    one-hot `CategoricalCrossentropy` would force every pipeline to one-hot its
    labels; this loss one-hots inside the graph instead, so pipelines keep
    integer labels and `sparse_categorical_accuracy` keeps working.

    Args:
        label_smoothing: float. In [0, 1); 0 is plain cross-entropy.
        from_logits: bool. Whether predictions are logits.
        **kwargs: passed to `keras.losses.Loss` (`name`, `reduction`).

    Example:

    >>> loss = SparseCategoricalCrossentropyWithSmoothing(label_smoothing=0.1)
    >>> float(loss([0], [[0.9, 0.1]])) > 0
    True
    """

    def __init__(self, label_smoothing=0.0, from_logits=False, name="sparse_ce_smoothed", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        num_classes = keras.ops.shape(y_pred)[-1]
        labels = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        one_hot = keras.ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {
            **super().get_config(),
            "label_smoothing": self.label_smoothing,
            "from_logits": self.from_logits,
        }
