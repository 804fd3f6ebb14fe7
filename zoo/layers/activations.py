"""Activations shared across families."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
def gelu_tanh(x):
    """GELU with the tanh approximation (as in BERT and GPT-2).

    The exact GELU lowers to TensorFlow's `Erfc`, which tf2onnx cannot convert;
    the tanh form exports to ONNX and differs from it by under 1e-3.

    Args:
        x: tensor. Pre-activations.

    Example:

    >>> keras.layers.Dense(64, activation=gelu_tanh)
    """
    return keras.activations.gelu(x, approximate=True)
