"""Bidirectional LSTMs over right-padded sequences, without a Keras mask.

A masked Keras LSTM exports to ONNX as a generic `Loop` that onnxruntime runs
slower than TensorFlow; an unmasked one becomes the ONNX `LSTM` op. With the
padding on the right, the mask is not needed to get the masked results at the
real steps: these layers take each sequence's length instead.

Example:

>>> lengths = SequenceLengths()(token_ids)
>>> x = Bidirectional(64)([embedded, lengths])
"""

from __future__ import annotations

import keras
from keras import ops

from zoo import validation


@keras.saving.register_keras_serializable(package="zoo")
class SequenceLengths(keras.layers.Layer):
    """The number of real (non-zero) ids of each right-padded sequence.

    Example:

    >>> SequenceLengths()(np.array([[4, 7, 0], [5, 0, 0]]))  # -> [2, 1]
    """

    def call(self, token_ids):
        return ops.sum(ops.cast(ops.not_equal(token_ids, 0), "int32"), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)


@keras.saving.register_keras_serializable(package="zoo")
class Bidirectional(keras.layers.Layer):
    """Two LSTMs over the real steps of right-padded sequences, concatenated.

    At every real step this computes what `keras.layers.Bidirectional(
    keras.layers.LSTM(units, return_sequences=True))` computes there behind a
    mask of the padding. The forward LSTM reads the padded sequence as it is:
    the padding comes after every real step, so it cannot reach them. The
    backward LSTM reads the real part reversed, `x[L-1], ..., x[0]` then the
    padding, so it starts from its zero state at the last real step, as the
    masked one does, and its outputs are put back in step order. Outputs at
    padding steps are unspecified: consumers ignore them (`MaskedMeanPooling`
    does, and so does the next `Bidirectional`, whose real steps they cannot
    reach either).

    The reversal is a gather rather than `tf.reverse_sequence`: tf2onnx takes
    a reverse op before an LSTM for half of a bidirectional LSTM and fuses the
    two directions into one ONNX `LSTM` without sequence lengths, which
    reverses the padding too (wrong results for padded rows).

    The class keeps the name of the Keras layer it replaces, and its
    `forward_layer` / `backward_layer` attributes: Keras weight files address
    variables by class name and attribute, so `.keras` and `.weights.h5` files
    of models built on a masked `keras.layers.Bidirectional(LSTM)` load here.

    Args:
        units: int. LSTM units per direction; the output has `2 * units`.
        dropout: float. Dropout on the LSTM inputs while training, in [0, 1).
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`).

    Call arguments:
        inputs: list of two tensors: the float `(batch, steps, features)`
            sequences and the int `(batch,)` number of real (leading) steps
            of each, e.g. from `SequenceLengths`.
        training: bool. Whether dropout is active.

    Example:

    >>> layer = Bidirectional(8)
    >>> layer([np.ones((2, 5, 3), "float32"), np.array([5, 2])]).shape
    (2, 5, 16)
    """

    def __init__(self, units, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = validation.check_positive_int("units", units)
        self.dropout = validation.check_fraction("dropout", dropout)
        self.forward_layer, self.backward_layer = (
            keras.layers.LSTM(
                self.units,
                return_sequences=True,
                dropout=self.dropout,
                dtype=self.dtype_policy,
                name=f"{direction}_lstm",
            )
            for direction in ("forward", "backward")
        )

    def build(self, input_shape):
        sequence_shape, _ = input_shape
        self.forward_layer.build(sequence_shape)
        self.backward_layer.build(sequence_shape)

    def call(self, inputs, training=None):
        sequences, lengths = inputs
        forward = self.forward_layer(sequences, training=training)
        backward = self.backward_layer(reverse_real_steps(sequences, lengths), training=training)
        return ops.concatenate([forward, reverse_real_steps(backward, lengths)], axis=-1)

    def compute_output_shape(self, input_shape):
        sequence_shape, _ = input_shape
        return (*sequence_shape[:-1], 2 * self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "dropout": self.dropout}


def reverse_real_steps(sequences, lengths):
    """Reverses the first `lengths[i]` steps of each sequence, keeping the rest.

    What `tf.reverse_sequence(sequences, lengths, seq_axis=1)` does, as a
    gather (see `Bidirectional` for why). It is its own inverse.

    Args:
        sequences: tensor `(batch, steps, features)`.
        lengths: int tensor `(batch,)`, each in [0, steps].

    Example:

    >>> reverse_real_steps(np.arange(4.0).reshape(1, 4, 1), np.array([3]))[0, :, 0]
    [2.0, 1.0, 0.0, 3.0]
    """
    batch, steps = ops.shape(sequences)[0], ops.shape(sequences)[1]
    positions = ops.arange(steps, dtype="int32")[None, :]
    lengths = ops.cast(lengths, "int32")[:, None]
    order = ops.where(positions < lengths, lengths - 1 - positions, positions)
    # Whole feature rows of the flattened batch: one ONNX Gather. Keras'
    # take_along_axis gathers element by element, over indices as large as
    # the sequences, which costs as much as an LSTM layer in onnxruntime.
    rows = order + ops.arange(batch, dtype="int32")[:, None] * steps
    flat = ops.reshape(sequences, (-1, ops.shape(sequences)[2]))
    return ops.take(flat, rows, axis=0)
