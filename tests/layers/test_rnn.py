"""Bidirectional LSTMs over right-padded sequences, checked against Keras' masked layer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.layers.rnn import Bidirectional, SequenceLengths, reverse_real_steps

# One sequence of each kind: a single real step, some padding, no padding,
# and all padding.
LENGTHS = np.array([1, 4, 7, 0])


def sequences(steps=7, features=3, seed=0):
    shape = (len(LENGTHS), steps, features)
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def real_steps(lengths, steps):
    return np.arange(steps)[None, :] < lengths[:, None]


def test_sequence_lengths_count_the_real_ids():
    ids = np.array([[4, 7, 9], [5, 0, 0], [0, 0, 0]], "int32")
    np.testing.assert_array_equal(SequenceLengths()(ids), [3, 1, 0])


def test_reverse_real_steps_is_tf_reverse_sequence():
    x = sequences()
    expected = tf.reverse_sequence(x, LENGTHS, seq_axis=1, batch_axis=0)
    reversed_ = reverse_real_steps(x, LENGTHS)
    np.testing.assert_array_equal(reversed_, expected)
    np.testing.assert_array_equal(reverse_real_steps(reversed_, LENGTHS), x)  # its own inverse


def test_matches_masked_keras_bidirectional_at_real_steps():
    x = sequences()
    layer = Bidirectional(5)
    out = keras.ops.convert_to_numpy(layer([x, LENGTHS]))
    assert out.shape == (4, 7, 10)

    # The layer it replaces, with the same weights, behind a mask.
    reference = keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True))
    mask = real_steps(LENGTHS, 7)
    reference(x, mask=mask)
    reference.set_weights(layer.get_weights())
    expected = keras.ops.convert_to_numpy(reference(x, mask=mask))
    diff = np.abs(out - expected)[mask]
    assert diff.max() <= 1e-5, diff.max()
    # The backward half starts at each last real step: there it has seen one
    # input, as on that step alone.
    alone = keras.ops.convert_to_numpy(layer([x[1:2, 3:4], np.array([1])]))
    np.testing.assert_allclose(out[1, 3, 5:], alone[0, 0, 5:], atol=1e-6)


def test_dropout_only_while_training():
    x = sequences()
    layer = Bidirectional(5, dropout=0.5)
    a = keras.ops.convert_to_numpy(layer([x, LENGTHS], training=False))
    np.testing.assert_array_equal(a, layer([x, LENGTHS], training=False))
    b = keras.ops.convert_to_numpy(layer([x, LENGTHS], training=True))
    assert np.isfinite(b).all() and not np.allclose(a, b)


def test_config_round_trip_and_weight_names():
    layer = Bidirectional(4, dropout=0.25, name="bi")
    layer([sequences(), LENGTHS])
    config = layer.get_config()
    assert (config["units"], config["dropout"]) == (4, 0.25)
    assert Bidirectional.from_config(config).get_config() == config
    # The attributes Keras weight files address, as in keras.layers.Bidirectional.
    assert [w.path for w in layer.forward_layer.weights][0] == "bi/forward_lstm/lstm_cell/kernel"
    assert [w.path for w in layer.backward_layer.weights][0] == "bi/backward_lstm/lstm_cell/kernel"


@pytest.mark.parametrize(
    "kwargs, match", [({"units": 0}, "units=0"), ({"units": 4, "dropout": 1.0}, "dropout=1.0")]
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(zoo.InvalidArgumentError, match=match):
        Bidirectional(**kwargs)
