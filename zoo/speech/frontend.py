"""The speech front end: Keras layers from raw waveforms to normalized features.

The layers (`zoo.speech.spectral`, `zoo.speech.augment`) sit inside every
speech model, so the model, its SavedModel and its ONNX file all take raw
float32 waveforms `(batch, samples)`:

    waveforms -> PadOrCrop -> [RandomTimeShift, RandomBackgroundNoise]
              -> Spectrogram -> LogMel -> [UtteranceNormalization] -> [MFCC]
              -> [SpecAugment] -> features (batch, frames, bins)

Bracketed layers are optional; the augmentation layers (`zoo.speech.augment`)
act only when `training=True`. `FrontendConfig` holds every setting,
validates it and knows the feature shape; `frontend_layers(config)` builds the
chain.

Why not `keras.layers.MelSpectrogram` or `tf.signal.stft`: tf2onnx converts
TensorFlow's RFFT only when `ComplexAbs` is its sole consumer and maps no
`tf.signal` op to ONNX's STFT, so those graphs do not export. `Spectrogram`
computes the same STFT as a strided convolution against fixed Hann-windowed
cosine and sine kernels, which every runtime runs. The kernels, the mel
matrix and the DCT are numpy constants computed from the config: they are
neither trainable nor saved (Keras' `STFTSpectrogram` keeps its kernels as
weights, about 1 MB per model at 16 kHz, more than `kws_res8` itself), and
they enter the traced graph as constants, not as captured tensors (which
Keras' ONNX export would turn into extra graph inputs).

Example:

>>> config = FrontendConfig(features="mfcc", num_mfcc=40)
>>> config.feature_shape
(98, 40)
>>> x = keras.Input(shape=(None,), name="waveforms")
>>> for layer in frontend_layers(config):
...     x = layer(x)
"""

from __future__ import annotations

import dataclasses
import math

from zoo import validation
from zoo.errors import InvalidArgumentError
from zoo.speech import augment
from zoo.speech.spectral import (
    MFCC,
    POWERS,
    LogMel,
    PadOrCrop,
    Spectrogram,
    UtteranceNormalization,
    needed_bins,
)

FEATURES = ("log_mel", "mfcc")
NORMALIZATIONS = ("utterance", "none")


@dataclasses.dataclass(frozen=True)
class FrontendConfig:
    """Every setting of the speech front end, validated, with derived sizes.

    Feature settings:

    Args:
        sample_rate: int. Samples per second of the input waveforms.
        clip_seconds: float. Inputs are zero-padded or cropped (keeping the
            start) to this length.
        features: str. `"log_mel"` (log mel energies) or `"mfcc"` (their
            orthonormal DCT-II, as `tf.signal.mfccs_from_log_mel_spectrograms`).
        window_ms: float. STFT window length in milliseconds (Hann, periodic).
        hop_ms: float. STFT hop in milliseconds.
        fft_length: int or None. FFT size; None takes the smallest power of
            two >= the window (512 for 30 ms at 16 kHz).
        power: float. 2.0 for the power spectrum, 1.0 for the magnitude.
        num_mel_bins: int. Mel bands.
        lower_hz: float. Lowest mel band edge.
        upper_hz: float. Highest mel band edge (<= sample_rate / 2).
        num_mfcc: int. MFCCs kept (<= num_mel_bins); used when features="mfcc".
        log_offset: float. Added to the mel energies before the log.
        normalization: str. `"utterance"`: the log-mel energies of each clip
            get zero mean (removes the recording gain) and unit RMS, floored,
            before any DCT (see `UtteranceNormalization`); or `"none"`.

    Training-only augmentation (see `zoo.speech.augment`):

    Args:
        time_shift_ms: float. Random shift of the waveform by up to this
            many milliseconds either way (zero fill); 0 turns it off.
        noise_probability: float. Chance that a clip gets generated
            background noise; 0 turns it off.
        min_snr_db: float. Lowest signal-to-noise ratio of that noise.
        max_snr_db: float. Highest signal-to-noise ratio.
        time_masks: int. SpecAugment time masks per clip.
        time_mask_frames: int. Widest time mask, in frames.
        freq_masks: int. SpecAugment frequency masks per clip.
        freq_mask_bins: int. Widest frequency mask, in feature bins.
        seed: int or None. Seed of the augmentation layers' generators.

    Example:

    >>> FrontendConfig(clip_seconds=0.5).feature_shape
    (48, 40)
    >>> FrontendConfig.from_dict({"features": "mfcc"}).features
    'mfcc'
    """

    sample_rate: int = 16000
    clip_seconds: float = 1.0
    features: str = "log_mel"
    window_ms: float = 30.0
    hop_ms: float = 10.0
    fft_length: int | None = None
    power: float = 2.0
    num_mel_bins: int = 40
    lower_hz: float = 20.0
    upper_hz: float = 4000.0
    num_mfcc: int = 40
    log_offset: float = 1e-6
    normalization: str = "utterance"
    time_shift_ms: float = 0.0
    noise_probability: float = 0.0
    min_snr_db: float = 5.0
    max_snr_db: float = 30.0
    time_masks: int = 0
    time_mask_frames: int = 0
    freq_masks: int = 0
    freq_mask_bins: int = 0
    seed: int | None = None

    def __post_init__(self):
        validation.check_positive_int("sample_rate", self.sample_rate)
        validation.check_choice("features", self.features, FEATURES)
        validation.check_choice("normalization", self.normalization, NORMALIZATIONS)
        validation.check_choice("power", self.power, POWERS)
        for key in ("clip_seconds", "window_ms", "hop_ms", "log_offset"):
            _check_number(key, getattr(self, key), positive=True)
        for key in ("lower_hz", "upper_hz", "time_shift_ms", "min_snr_db", "max_snr_db"):
            _check_number(key, getattr(self, key), positive=False)
        validation.check_fraction("noise_probability", self.noise_probability, upper_inclusive=True)
        for key in ("time_masks", "time_mask_frames", "freq_masks", "freq_mask_bins"):
            validation.check_positive_int(key, getattr(self, key), minimum=0)
        validation.check_positive_int("num_mel_bins", self.num_mel_bins)
        validation.check_positive_int("num_mfcc", self.num_mfcc)
        if self.seed is not None:
            validation.check_positive_int("seed", self.seed, minimum=0)
        if self.fft_length is not None:
            validation.check_positive_int("fft_length", self.fft_length)
        nyquist = self.sample_rate / 2
        if not 0 <= self.lower_hz < self.upper_hz <= nyquist:
            raise InvalidArgumentError(
                f"Mel band edges need 0 <= lower_hz < upper_hz <= sample_rate / 2 "
                f"({nyquist:g}). Received: lower_hz={self.lower_hz}, upper_hz={self.upper_hz}."
            )
        if self.min_snr_db > self.max_snr_db:
            raise InvalidArgumentError(
                f"min_snr_db must be <= max_snr_db. Received: min_snr_db={self.min_snr_db}, "
                f"max_snr_db={self.max_snr_db}."
            )
        if self.features == "mfcc" and self.num_mfcc > self.num_mel_bins:
            raise InvalidArgumentError(
                f"num_mfcc must be <= num_mel_bins ({self.num_mel_bins}). "
                f"Received: num_mfcc={self.num_mfcc}."
            )
        if self.frame_step < 1 or self.frame_length < 2:
            raise InvalidArgumentError(
                f"window_ms and hop_ms give {self.frame_length} and {self.frame_step} samples "
                f"at {self.sample_rate} Hz; need a window >= 2 samples and a hop >= 1. "
                f"Received: window_ms={self.window_ms}, hop_ms={self.hop_ms}."
            )
        if self.fft_length is not None and self.fft_length < self.frame_length:
            raise InvalidArgumentError(
                f"fft_length must be >= the window ({self.frame_length} samples). "
                f"Received: fft_length={self.fft_length}."
            )
        if self.samples < self.frame_length:
            raise InvalidArgumentError(
                f"The clip ({self.samples} samples) is shorter than one window "
                f"({self.frame_length} samples). Received: clip_seconds={self.clip_seconds}, "
                f"window_ms={self.window_ms}."
            )
        frames, bins = self.feature_shape
        for count, width, limit, what in (
            (self.time_masks, self.time_mask_frames, frames, "time_mask_frames"),
            (self.freq_masks, self.freq_mask_bins, bins, "freq_mask_bins"),
        ):
            if count and width > limit:
                raise InvalidArgumentError(
                    f"{what} must be <= the features' size on that axis ({limit}). "
                    f"Received: {what}={width}."
                )

    @classmethod
    def from_dict(cls, values, *, base=None) -> FrontendConfig:
        """A config from a dict of fields, naming unknown keys in the error.

        Args:
            values: dict, FrontendConfig or None. Fields to set; a
                FrontendConfig counts as the dict of all its fields.
            base: dict or None. Fields applied first, which `values`
                overrides (e.g. a paper's front end under a user's changes).

        Example:

        >>> FrontendConfig.from_dict({"num_mel_bins": 64}).num_mel_bins
        64
        >>> FrontendConfig.from_dict({"num_mfcc": 13}, base={"features": "mfcc"}).num_bins
        13
        """
        if isinstance(values, cls):
            values = values.to_dict()
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise InvalidArgumentError(
                f"frontend must be a dict of FrontendConfig fields or a FrontendConfig. "
                f"Received: frontend={values!r}."
            )
        merged = {**(base or {}), **values}
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(merged) - fields)
        if unknown:
            raise InvalidArgumentError(
                f"Unknown front-end setting(s) {unknown}. Accepted: {', '.join(sorted(fields))}."
            )
        return cls(**merged)

    def replace(self, **changes) -> FrontendConfig:
        """A copy with some fields changed (validated like the original)."""
        return self.from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        """The fields as a JSON-friendly dict (what model configs store)."""
        return dataclasses.asdict(self)

    @property
    def samples(self) -> int:
        """Samples in one clip."""
        return int(round(self.sample_rate * self.clip_seconds))

    @property
    def frame_length(self) -> int:
        """STFT window in samples."""
        return int(round(self.sample_rate * self.window_ms / 1000))

    @property
    def frame_step(self) -> int:
        """STFT hop in samples."""
        return int(round(self.sample_rate * self.hop_ms / 1000))

    @property
    def fft_size(self) -> int:
        """The FFT size: `fft_length`, or the next power of two of the window."""
        return self.fft_length or 2 ** math.ceil(math.log2(self.frame_length))

    @property
    def num_frames(self) -> int:
        """Frames per clip: windows that fit entirely, as `tf.signal.stft(pad_end=False)`."""
        return 1 + (self.samples - self.frame_length) // self.frame_step

    @property
    def num_bins(self) -> int:
        """Feature bins per frame: mel bands, or MFCCs kept."""
        return self.num_mfcc if self.features == "mfcc" else self.num_mel_bins

    @property
    def feature_shape(self) -> tuple[int, int]:
        """`(frames, bins)`: what the backbone of a speech model receives."""
        return (self.num_frames, self.num_bins)

    @property
    def time_shift_samples(self) -> int:
        return int(round(self.sample_rate * self.time_shift_ms / 1000))


def _check_number(name, value, *, positive):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value <= 0 if positive else value < 0):
        ok = False
    if not ok:
        bound = "> 0" if positive else ">= 0"
        raise InvalidArgumentError(f"{name} must be a number {bound}. Received: {name}={value!r}.")


def frontend_layers(config: FrontendConfig) -> list:
    """The front-end layers of `config`, in order, to apply to `(batch, samples)`.

    Args:
        config: FrontendConfig. The settings.

    Returns:
        A list of Keras layers; applied in turn to float32 waveforms of any
        length, they give `(batch, *config.feature_shape)` features.

    Example:

    >>> x = keras.Input(shape=(None,))
    >>> for layer in frontend_layers(FrontendConfig()):
    ...     x = layer(x)
    >>> x.shape
    (None, 98, 40)
    """

    def seed(offset):
        return None if config.seed is None else config.seed + offset

    layers = [PadOrCrop(config.samples, name="pad_or_crop")]
    if config.time_shift_samples:
        layers.append(
            augment.RandomTimeShift(config.time_shift_samples, seed=seed(0), name="time_shift")
        )
    if config.noise_probability:
        layers.append(
            augment.RandomBackgroundNoise(
                config.noise_probability,
                config.min_snr_db,
                config.max_snr_db,
                seed=seed(1),
                name="background_noise",
            )
        )
    log_mel = LogMel(
        config.num_mel_bins,
        config.sample_rate,
        config.fft_size,
        lower_hz=config.lower_hz,
        upper_hz=config.upper_hz,
        log_offset=config.log_offset,
        name="log_mel",
    )
    spectrogram = Spectrogram(
        config.frame_length,
        config.frame_step,
        config.fft_size,
        power=config.power,
        num_bins=needed_bins(log_mel.mel_matrix),
        name="spectrogram",
    )
    layers += [spectrogram, log_mel]
    if config.normalization == "utterance":
        layers.append(UtteranceNormalization(name="normalize"))
    if config.features == "mfcc":
        layers.append(MFCC(config.num_mfcc, name="mfcc"))
    if (config.time_masks and config.time_mask_frames) or (
        config.freq_masks and config.freq_mask_bins
    ):
        layers.append(
            augment.SpecAugment(
                config.time_masks,
                config.time_mask_frames,
                config.freq_masks,
                config.freq_mask_bins,
                seed=seed(2),
                name="spec_augment",
            )
        )
    return layers
