"""Masked mean pooling over a sequence, safe for all-padding rows."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMeanPooling(keras.layers.Layer):
    """Averages `(batch, steps, features)` over the steps where `token_ids != 0`.

    Keras' `GlobalAveragePooling1D` divides by the mask sum, which is 0 for an
    empty text (all padding) and yields NaN; this layer divides by at least 1,
    so an empty string gets a zero vector and finite predictions. The mask is
    computed from the token ids passed as the second input, not from Keras'
    implicit masks, so the graph exports to ONNX as plain arithmetic.

    Example:

    >>> pooled = MaskedMeanPooling()([sequence, token_ids])
    """

    def call(self, inputs, mask=None):
        del mask  # Keras' implicit mask is replaced by the explicit one below
        sequence, token_ids = inputs
        mask = ops.cast(ops.not_equal(token_ids, 0), sequence.dtype)[..., None]
        total = ops.sum(sequence * mask, axis=1)
        count = ops.maximum(ops.sum(mask, axis=1), 1.0)
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None  # pooled: no time axis left to mask

    def compute_output_shape(self, input_shape):
        sequence_shape = input_shape[0]
        return (sequence_shape[0], sequence_shape[2])
