"""Training-only augmentation layers of the speech front end.

Each layer returns its input unchanged unless called with `training=True`
(as `model.fit` does), so predictions, `.keras` files and exports see the
plain inference graph: no random op is traced into a SavedModel or ONNX
file. Randomness comes from a `keras.random.SeedGenerator`, so a layer
made with a `seed` draws the same sequence every run. Everything is per
example and vectorized over the batch; noise is generated, so no data file
is needed.

Example:

>>> shift = RandomTimeShift(1600, seed=0)
>>> moved = shift(waveforms, training=True)   # each clip moved by up to 100 ms
>>> same = shift(waveforms)                  # inference: identity
"""

from __future__ import annotations

import keras
from keras import ops

from zoo import validation
from zoo.errors import InvalidArgumentError


class _AugmentLayer(keras.layers.Layer):
    """Float32, identity outside training, seeded."""

    def __init__(self, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if seed is not None:
            validation.check_positive_int("seed", seed, minimum=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        return self.augment(inputs) if training else inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="zoo")
class RandomTimeShift(_AugmentLayer):
    """Shifts each waveform by a random whole number of samples, filling with zeros.

    Args:
        max_shift: int. Largest shift, either way, in samples (Honk and the
            TensorFlow speech-commands example use 100 ms).
        seed: int or None. Seed of the generator.

    Example:

    >>> RandomTimeShift(1600, seed=1)(np.ones((2, 16000), "float32"), training=True).shape
    TensorShape([2, 16000])
    """

    def __init__(self, max_shift, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.max_shift = validation.check_positive_int("max_shift", max_shift, minimum=0)

    def augment(self, inputs):
        batch, samples = ops.shape(inputs)[0], inputs.shape[1]
        shift = keras.random.randint(
            (batch, 1), -self.max_shift, self.max_shift + 1, seed=self.seed_generator
        )
        source = ops.arange(samples, dtype="int32")[None, :] - ops.cast(shift, "int32")
        inside = ops.logical_and(source >= 0, source < samples)
        moved = ops.take_along_axis(inputs, ops.clip(source, 0, samples - 1), axis=1)
        return moved * ops.cast(inside, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift}


@keras.saving.register_keras_serializable(package="zoo")
class RandomBackgroundNoise(_AugmentLayer):
    """Adds generated noise at a random signal-to-noise ratio to some clips.

    The noise is a random blend of white noise and brown noise (integrated
    white noise, most of its energy at low frequencies like fans, traffic and
    rumble), scaled to an SNR drawn uniformly in [min_snr_db, max_snr_db]
    against the clip's RMS. A clip quieter than `rms_floor` is treated as
    being at `rms_floor`, so silence gets audible noise rather than none.
    Results are clipped to [-1, 1] like a real recording.

    Args:
        probability: float. Chance per clip of getting noise, in [0, 1].
        min_snr_db: float. Lowest SNR in dB.
        max_snr_db: float. Highest SNR in dB.
        rms_floor: float. Smallest signal RMS the SNR is measured against.
        seed: int or None. Seed of the generator.

    Example:

    >>> noisy = RandomBackgroundNoise(1.0, 5.0, 20.0, seed=0)(clean, training=True)
    """

    def __init__(self, probability, min_snr_db, max_snr_db, rms_floor=0.01, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.probability = validation.check_fraction(
            "probability", probability, upper_inclusive=True
        )
        if not min_snr_db <= max_snr_db:
            raise InvalidArgumentError(
                f"min_snr_db must be <= max_snr_db. Received: min_snr_db={min_snr_db}, "
                f"max_snr_db={max_snr_db}."
            )
        self.min_snr_db = float(min_snr_db)
        self.max_snr_db = float(max_snr_db)
        self.rms_floor = float(rms_floor)

    def augment(self, inputs):
        shape = ops.shape(inputs)
        seed = self.seed_generator
        white = _unit_rms(keras.random.normal(shape, seed=seed))
        brown = ops.cumsum(keras.random.normal(shape, seed=seed), axis=1)
        brown = _unit_rms(brown - ops.mean(brown, axis=1, keepdims=True))
        blend = keras.random.uniform((shape[0], 1), seed=seed)
        noise = _unit_rms(blend * white + (1.0 - blend) * brown)
        snr_db = keras.random.uniform((shape[0], 1), self.min_snr_db, self.max_snr_db, seed=seed)
        signal_rms = ops.maximum(_rms(inputs), self.rms_floor)
        level = signal_rms * ops.power(10.0, -snr_db / 20.0)
        chosen = ops.cast(
            keras.random.uniform((shape[0], 1), seed=seed) < self.probability, "float32"
        )
        return ops.clip(inputs + noise * level * chosen, -1.0, 1.0)

    def get_config(self):
        return {
            **super().get_config(),
            "probability": self.probability,
            "min_snr_db": self.min_snr_db,
            "max_snr_db": self.max_snr_db,
            "rms_floor": self.rms_floor,
        }


def _rms(x):
    return ops.sqrt(ops.mean(ops.square(x), axis=1, keepdims=True))


def _unit_rms(x):
    return x / ops.maximum(_rms(x), 1e-12)


@keras.saving.register_keras_serializable(package="zoo")
class SpecAugment(_AugmentLayer):
    """SpecAugment's time and frequency masks (Park et al. 2019), no time warp.

    Each clip gets `time_masks` bands of 0..`time_mask_frames` consecutive
    frames and `freq_masks` bands of 0..`freq_mask_bins` consecutive bins
    set to zero, at uniform random positions. Put it after a normalization
    that centres the features, so zero is the mean value, not an outlier.

    Args:
        time_masks: int. Masks along the frames axis.
        time_mask_frames: int. Widest time mask.
        freq_masks: int. Masks along the bins axis.
        freq_mask_bins: int. Widest frequency mask.
        seed: int or None. Seed of the generator.

    Example:

    >>> SpecAugment(2, 10, 2, 5, seed=0)(features, training=True).shape
    TensorShape([8, 98, 40])
    """

    def __init__(
        self, time_masks, time_mask_frames, freq_masks, freq_mask_bins, seed=None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        self.time_masks = validation.check_positive_int("time_masks", time_masks, minimum=0)
        self.time_mask_frames = validation.check_positive_int(
            "time_mask_frames", time_mask_frames, minimum=0
        )
        self.freq_masks = validation.check_positive_int("freq_masks", freq_masks, minimum=0)
        self.freq_mask_bins = validation.check_positive_int(
            "freq_mask_bins", freq_mask_bins, minimum=0
        )

    def augment(self, inputs):
        batch = ops.shape(inputs)[0]
        frames, bins = inputs.shape[1], inputs.shape[2]
        keep_time = self._keep((batch, 1), frames, self.time_masks, self.time_mask_frames)
        keep_freq = self._keep((batch, 1), bins, self.freq_masks, self.freq_mask_bins)
        return inputs * keep_time[:, :, None] * keep_freq[:, None, :]

    def _keep(self, shape, length, count, widest):
        """`(batch, length)` float mask: 0 inside any of `count` random bands."""
        positions = ops.arange(length, dtype="float32")[None, :]
        keep = ops.ones((shape[0], length), dtype="float32")
        widest = min(widest, length)
        for _ in range(count if widest else 0):
            # floor(u * (n + 1)) is uniform over 0..n.
            width = ops.floor(keras.random.uniform(shape, seed=self.seed_generator) * (widest + 1))
            start = ops.floor(
                keras.random.uniform(shape, seed=self.seed_generator) * (length - width + 1)
            )
            inside = ops.logical_and(positions >= start, positions < start + width)
            keep = keep * (1.0 - ops.cast(inside, "float32"))
        return keep

    def get_config(self):
        return {
            **super().get_config(),
            "time_masks": self.time_masks,
            "time_mask_frames": self.time_mask_frames,
            "freq_masks": self.freq_masks,
            "freq_mask_bins": self.freq_mask_bins,
        }
