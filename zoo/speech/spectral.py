"""Spectral layers of the speech front end: waveforms to normalized features.

`zoo.speech.frontend` chains them (see its docstring for why the STFT is a
convolution with fixed DFT kernels rather than `tf.signal.stft`). Every
layer computes in float32 and holds no weights: its constants (DFT kernels,
mel matrix, DCT) are numpy arrays computed from its config, which enter the
traced graph as constants.

Example:

>>> x = PadOrCrop(16000)(waveforms)
>>> x = LogMel(40, 16000, 512)(Spectrogram(480, 160, 512)(x))
>>> features = UtteranceNormalization()(MFCC(40)(x))
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo import validation
from zoo.errors import InvalidArgumentError

POWERS = (1.0, 2.0)


class _FrontendLayer(keras.layers.Layer):
    """A front-end layer: float32 whatever the global policy, no weights.

    Spectra in float16/bfloat16 lose the low-energy detail the log brings
    back, so the front end always computes in float32; the backbone casts
    its features to the compute dtype.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)


@keras.saving.register_keras_serializable(package="zoo")
class PadOrCrop(_FrontendLayer):
    """Zero-pads or crops `(batch, any)` waveforms to `(batch, samples)`.

    Crops keep the start of the clip; pads go at the end. Written as a pad by
    `samples` and a slice, both of static size, so the exported graph takes
    waveforms of any length.

    Args:
        samples: int. The output length.

    Example:

    >>> PadOrCrop(4)(np.ones((1, 2), "float32")).numpy()
    array([[1., 1., 0., 0.]], dtype=float32)
    """

    def __init__(self, samples, **kwargs):
        super().__init__(**kwargs)
        self.samples = validation.check_positive_int("samples", samples)

    def call(self, inputs):
        x = ops.pad(inputs, [[0, 0], [0, self.samples]])[:, : self.samples]
        # The slice of an unknown length has an unknown static length; fix it.
        return ops.reshape(x, (-1, self.samples))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.samples)

    def get_config(self):
        return {**super().get_config(), "samples": self.samples}


@keras.saving.register_keras_serializable(package="zoo")
class Spectrogram(_FrontendLayer):
    """The STFT power (or magnitude) spectrogram as a convolution with fixed DFT kernels.

    Equals `abs(tf.signal.stft(x, frame_length, frame_step, fft_length)) ** power`
    (periodic Hann window, no end padding) within float32 rounding; see the
    module docstring for why it is not `tf.signal.stft`. One strided Conv1D
    computes the real and imaginary parts of every kept bin for every frame;
    the window is folded into the kernels, and the FFT's zero padding of each
    frame to `fft_length` is implied by the kernels' phases.

    Args:
        frame_length: int. Window length in samples.
        frame_step: int. Hop in samples.
        fft_length: int. DFT size (>= frame_length).
        power: float. 2.0 for power, 1.0 for magnitude.
        num_bins: int or None. Keep only bins 0..num_bins-1; None keeps all
            `fft_length // 2 + 1`. The front end drops the bins above the
            highest mel band, which no mel filter reads (half the work at a
            4 kHz upper edge and 16 kHz audio).

    Example:

    >>> Spectrogram(480, 160, 512)(np.zeros((2, 16000), "float32")).shape
    TensorShape([2, 98, 257])
    """

    def __init__(self, frame_length, frame_step, fft_length, power=2.0, num_bins=None, **kwargs):
        super().__init__(**kwargs)
        self.frame_length = validation.check_positive_int("frame_length", frame_length)
        self.frame_step = validation.check_positive_int("frame_step", frame_step)
        self.fft_length = validation.check_positive_int(
            "fft_length", fft_length, minimum=frame_length
        )
        self.power = validation.check_choice("power", power, POWERS)
        all_bins = fft_length // 2 + 1
        if num_bins is not None:
            validation.check_choice("num_bins", num_bins, range(1, all_bins + 1))
        self.num_bins = num_bins
        self._bins = num_bins or all_bins
        self._kernel = dft_kernel(frame_length, fft_length, self._bins)

    def call(self, inputs):
        kernel = ops.convert_to_tensor(self._kernel, dtype=inputs.dtype)
        parts = ops.conv(
            ops.expand_dims(inputs, -1), kernel, strides=self.frame_step, padding="valid"
        )
        real, imag = parts[..., : self._bins], parts[..., self._bins :]
        power = ops.square(real) + ops.square(imag)
        return power if self.power == 2.0 else ops.sqrt(power)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else 1 + (samples - self.frame_length) // self.frame_step
        return (input_shape[0], frames, self._bins)

    def get_config(self):
        return {
            **super().get_config(),
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "power": self.power,
            "num_bins": self.num_bins,
        }


def dft_kernel(frame_length, fft_length, num_bins=None):
    """Conv1D kernel `(frame_length, 1, 2 * bins)`: windowed cos, then -sin columns.

    Computed in float64 (the phases of long windows lose digits in float32)
    and returned as float32.

    Args:
        frame_length: int. Window length in samples.
        fft_length: int. DFT size.
        num_bins: int or None. Bins 0..num_bins-1; None for all fft_length // 2 + 1.

    Example:

    >>> dft_kernel(480, 512).shape
    (480, 1, 514)
    """
    n = np.arange(frame_length)
    # Periodic Hann, as tf.signal.hann_window(periodic=True).
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / frame_length)
    k = np.arange(num_bins or fft_length // 2 + 1)
    # (n * k) mod N keeps the phase argument small, so cos/sin stay exact.
    phase = 2 * np.pi * ((n[:, None] * k[None, :]) % fft_length) / fft_length
    kernel = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) * window[:, None]
    return kernel[:, None, :].astype("float32")


@keras.saving.register_keras_serializable(package="zoo")
class LogMel(_FrontendLayer):
    """Log mel energies: `log(spectrogram @ mel_matrix + log_offset)`.

    The mel matrix is `tf.signal.linear_to_mel_weight_matrix` (HTK mel
    scale), computed once when the layer is made. The input may hold fewer
    than `fft_length // 2 + 1` bins (see `Spectrogram(num_bins=...)`) as long
    as the missing bins have no weight in any band.

    Args:
        num_mel_bins: int. Mel bands.
        sample_rate: int. Samples per second.
        fft_length: int. DFT size of the spectrogram (fft_length / 2 + 1 bins).
        lower_hz: float. Lowest band edge.
        upper_hz: float. Highest band edge.
        log_offset: float. Added before the log, so silence stays finite.

    Example:

    >>> LogMel(40, 16000, 512)(np.ones((1, 98, 257), "float32")).shape
    TensorShape([1, 98, 40])
    """

    def __init__(
        self,
        num_mel_bins,
        sample_rate,
        fft_length,
        lower_hz=20.0,
        upper_hz=4000.0,
        log_offset=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        import tensorflow as tf  # the mel matrix is tf.signal's; zoo runs on TF

        self.num_mel_bins = validation.check_positive_int("num_mel_bins", num_mel_bins)
        self.sample_rate = validation.check_positive_int("sample_rate", sample_rate)
        self.fft_length = validation.check_positive_int("fft_length", fft_length)
        self.lower_hz = float(lower_hz)
        self.upper_hz = float(upper_hz)
        self.log_offset = float(log_offset)
        self._matrix = tf.signal.linear_to_mel_weight_matrix(
            num_mel_bins,
            fft_length // 2 + 1,
            sample_rate,
            self.lower_hz,
            self.upper_hz,
            dtype=tf.float64,
        ).numpy()

    @property
    def mel_matrix(self):
        """The `(bins, num_mel_bins)` float64 mel weights, as numpy."""
        return self._matrix

    def build(self, input_shape):
        bins = input_shape[-1]
        if bins is None or bins > len(self._matrix) or self._matrix[bins:].any():
            raise InvalidArgumentError(
                f"LogMel needs the spectrogram bins up to the highest mel band "
                f"({needed_bins(self._matrix)} of {len(self._matrix)}). "
                f"Received: input shape {tuple(input_shape)}."
            )
        self._matrix = self._matrix[:bins]

    def call(self, inputs):
        matrix = ops.convert_to_tensor(self._matrix, dtype=inputs.dtype)
        return ops.log(ops.matmul(inputs, matrix) + self.log_offset)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_mel_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "num_mel_bins": self.num_mel_bins,
            "sample_rate": self.sample_rate,
            "fft_length": self.fft_length,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "log_offset": self.log_offset,
        }


def needed_bins(mel_matrix) -> int:
    """Spectrogram bins a mel matrix reads: up to its last row with a weight.

    Example:

    >>> needed_bins(np.eye(3)[:, :2])
    2
    """
    rows = np.flatnonzero(np.asarray(mel_matrix).any(axis=1))
    return int(rows[-1]) + 1 if rows.size else 1


@keras.saving.register_keras_serializable(package="zoo")
class MFCC(_FrontendLayer):
    """The first `num_mfcc` coefficients of the orthonormal DCT-II of log-mel frames.

    As `tf.signal.mfccs_from_log_mel_spectrograms` (which is `tf.signal.dct`
    type II scaled by 1/sqrt(2 * bins)), written as a matmul with a constant
    matrix because tf2onnx converts `tf.signal.dct` through an RFFT.

    Args:
        num_mfcc: int. Coefficients kept (<= the input's mel bins).

    Example:

    >>> MFCC(13)(np.ones((1, 98, 40), "float32")).shape
    TensorShape([1, 98, 13])
    """

    def __init__(self, num_mfcc, **kwargs):
        super().__init__(**kwargs)
        self.num_mfcc = validation.check_positive_int("num_mfcc", num_mfcc)
        self._matrix = None

    def build(self, input_shape):
        bins = input_shape[-1]
        if bins is None or bins < self.num_mfcc:
            raise InvalidArgumentError(
                f"MFCC needs at least num_mfcc={self.num_mfcc} known mel bins. "
                f"Received: input shape {tuple(input_shape)}."
            )
        n = np.arange(bins)
        k = np.arange(self.num_mfcc)
        self._matrix = 2 * np.cos(np.pi * np.outer(2 * n + 1, k) / (2 * bins)) / np.sqrt(2 * bins)

    def call(self, inputs):
        return ops.matmul(inputs, ops.convert_to_tensor(self._matrix, dtype=inputs.dtype))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_mfcc)

    def get_config(self):
        return {**super().get_config(), "num_mfcc": self.num_mfcc}


@keras.saving.register_keras_serializable(package="zoo")
class UtteranceNormalization(_FrontendLayer):
    """Per-clip normalization of log energies: zero mean, unit RMS, one scale per clip.

    The clip's mean over all frames and bins is removed (a recording gain is
    a constant offset of every log energy, so this removes it), then the clip
    is divided by its RMS deviation, floored at `sqrt(epsilon)`. It needs no
    dataset statistics, so it is the same in training and deployment; the
    front end applies it to log-mel energies, before any DCT.

    Why not per-bin statistics (cepstral mean and variance normalization):
    a per-bin mean erases whatever is steady through the clip (a held vowel,
    a hum, a whistle), and a per-bin variance blows a bin that barely varies
    (a wide mel band of steady noise, digital silence) up to unit variance,
    turning float rounding (1e-6, different in TensorFlow and onnxruntime)
    into feature noise (1e-3 and more) and making a quiet clip look as busy
    as speech. The floor, 1 by default (one natural-log unit, 4.3 dB), does
    the same for flat clips, and is small beside the spread of speech (2-4).

    Args:
        epsilon: float. Added to the clip's mean square before the root.

    Example:

    >>> UtteranceNormalization()(np.ones((1, 98, 40), "float32")).numpy().max()
    0.0
    """

    def __init__(self, epsilon=1.0, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        # Shifted by one of its own values first: a constant clip (digital
        # silence) then centres to exact zeros, where the float mean of
        # 3920 equal values would leave a rounding residue (1e-5, differing
        # between runtimes, that a DCT's first coefficient multiplies by 9).
        shifted = inputs - inputs[:, :1, :1]
        centred = shifted - ops.mean(shifted, axis=(1, 2), keepdims=True)
        mean_square = ops.mean(ops.square(centred), axis=(1, 2), keepdims=True)
        return centred * ops.rsqrt(mean_square + self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
