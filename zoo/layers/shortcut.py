"""The parameter-free residual shortcut of He et al. 2016 (option A)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
class ZeroPadShortcut(keras.layers.Layer):
    """Subsamples spatially and zero-pads channels, adding no parameters.

    The CIFAR ResNets of He et al. 2016 (section 4.2) use this "option A"
    shortcut where a stage doubles the filters and halves the resolution, so
    every shortcut is parameter-free and the published parameter counts hold.

    Args:
        filters: int. Output channels; must be >= the input channels.
        strides: int. Spatial subsampling factor.

    Example:

    >>> layer = ZeroPadShortcut(filters=32, strides=2)
    >>> layer(keras.ops.ones((1, 8, 8, 16))).shape
    (1, 4, 4, 32)
    """

    def __init__(self, filters: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.strides = strides

    def call(self, inputs):
        x = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.filters - inputs.shape[-1]
        if extra:
            # Split the padding over both sides, as the reference implementation does.
            x = keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])
        return x

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape

        def down(d):
            return None if d is None else (d + self.strides - 1) // self.strides

        return (batch, down(height), down(width), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}
