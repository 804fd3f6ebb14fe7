"""Audio pipelines: float32 mono waveforms of the model's sample rate and clip length.

Sources are tfds audio datasets (integer samples, scaled to [-1, 1]) and
folders of WAV class subfolders (read by `zoo.data.wav`). Each clip is
resampled to the model's rate when it differs, then padded with zeros at the
end or cut after `spec.samples` samples, as `tf.audio.decode_wav(...,
desired_samples)` does. After that the shared tf.data tail runs: cache (small
sets), shuffle, batch with the global batch size, shard by example under a
strategy, prefetch.

The pipeline does no waveform augmentation: zoo's audio models hold theirs
(time shift, noise mixing, SpecAugment) as layers that are active only in
training, so evaluation, exports and the data pipeline all see clean clips.
`augment` is accepted for `get_dataset`'s common signature and ignored.

Example:

>>> from zoo.inputs import AudioInput
>>> info = zoo.dataset_info("clips/")
>>> train, val = make_pipelines("clips/", info, AudioInput(16000, 1.0), batch_size=32)
>>> waves, labels = next(iter(train))          # (32, 16000) float32, (32,) int32
"""

from __future__ import annotations

from zoo import errors
from zoo.data import folder, wav
from zoo.data.catalog import SOURCES
from zoo.data.pipeline import finish, training_batches
from zoo.data.tfds_source import load_splits
from zoo.inputs import AudioInput

__all__ = ["build_audio_pipeline", "default_input", "fit_waveform", "folder_fields"]

_AUTOTUNE = -1
# A folder's decoded clips are cached in memory up to this size per split
# (16,000 one-second clips at 16 kHz); larger folders are decoded every epoch.
_CACHE_BYTES = 1 << 30
_DEFAULT_RATE = 16000


def default_input(info) -> AudioInput:
    """The `AudioInput` used when `get_dataset` is given no model: 1 s at the data's rate.

    Args:
        info: DatasetInfo. The dataset.
    """
    return AudioInput(int(info.sample_rate or _DEFAULT_RATE), 1.0)


def folder_fields(root) -> dict:
    """`DatasetInfo` fields of a folder of WAV files: the rate most of them have.

    Reads (and so checks) every file's header.

    Args:
        root: str or Path. The dataset folder.

    Raises:
        AudioFileError: a file is empty, truncated or corrupt.
    """
    train, val = folder.split_files(root, AudioInput.folder_suffixes)
    headers = wav.read_headers(path for path, _ in train + val)
    return {"sample_rate": wav.common_rate(headers)}


def make_pipelines(
    name,
    info,
    spec,
    *,
    batch_size,
    data_dir=None,
    augment=True,
    strategy=None,
    seed=None,
    stream=None,
    tokenizer=None,
    table_columns=None,
):
    """`(train, val)` waveform pipelines of an audio dataset fitted to `spec`.

    Args:
        name: str or Path. The dataset (see `zoo.get_dataset`).
        info: DatasetInfo. Its description (`sample_rate` is the data's rate).
        spec: AudioInput or None. The model's input; None keeps the data's
            rate and takes clips of 1 s.
        batch_size: int. The global batch size.
        data_dir: str or None. tfds data directory.
        augment: ignored: audio models augment inside the graph (training only).
        strategy: tf.distribute.Strategy or None. Shard by example under it.
        seed: int or None. Shuffle seed.
        stream: EpochStream or None. The training split as several epochs (see
            `zoo.data.EpochStream`).
        tokenizer, table_columns: unused by audio.

    Returns:
        `(train, val)`: batched, prefetched datasets of `(float32 waveforms
        (batch, spec.samples) in [-1, 1], int32 labels)` with known length.

    Raises:
        AudioFileError: a WAV file of a folder is empty, truncated or corrupt.
    """
    spec = spec or default_input(info)
    if info.source == "folder":
        train, val = (_wav_files(split, spec) for split in _checked_files(name))
        rate = spec.sample_rate  # the reader resamples while decoding
        cache = [_fits_cache(split, spec) for split in (train, val)]
    else:
        source = SOURCES[info.name]
        _, train, val = load_splits(source, data_dir)
        rate = source.sample_rate or _DEFAULT_RATE
        cache = [source.cache, source.cache]
    common = dict(rate=rate, spec=spec, batch_size=batch_size, strategy=strategy)
    return (
        build_audio_pipeline(
            train, training=True, cache=cache[0], seed=seed, stream=stream, **common
        ),
        build_audio_pipeline(val, training=False, cache=cache[1], **common),
    )


def build_audio_pipeline(
    ds, *, rate, spec, batch_size, training, cache, seed=None, strategy=None, stream=None
):
    """Fits, caches, shuffles and batches unbatched `(waveform, label)` pairs.

    Args:
        ds: tf.data.Dataset of `(samples (frames,) or (frames, channels), label)`:
            int16/int32 full-scale integers or floats in [-1, 1].
        rate: int. The sample rate of `ds`.
        spec: AudioInput. Sample rate and clip length wanted.
        batch_size: int. The global batch size.
        training: bool. Shuffle every epoch.
        cache: bool. Cache fitted clips in memory.
        seed: int or None. Shuffle seed.
        strategy: tf.distribute.Strategy or None. Shard by example under it.
        stream: EpochStream or None. Training only: see `zoo.data.EpochStream`.
    """
    import tensorflow as tf

    ds = ds.map(
        lambda audio, label: (fit_waveform(audio, rate, spec), tf.cast(label, tf.int32)),
        num_parallel_calls=_AUTOTUNE,
    )
    if cache:
        ds = ds.cache()
    if not training:
        return finish(ds.batch(batch_size, num_parallel_calls=_AUTOTUNE), strategy)
    # Audio models augment inside the graph (zoo.speech): batching is all.
    return finish(training_batches(ds, seed, stream, batch_size), strategy)


def fit_waveform(audio, rate: int, spec: AudioInput):
    """One clip as float32 mono `(spec.samples,)` in [-1, 1] at `spec.sample_rate`.

    Args:
        audio: tensor `(frames,)` or `(frames, channels)`, integer or float.
        rate: int. Its sample rate.
        spec: AudioInput. Rate and length wanted.
    """
    import tensorflow as tf

    scale = {tf.int16: 2.0**15, tf.int32: 2.0**31}.get(audio.dtype)
    if scale is None and not audio.dtype.is_floating:
        raise errors.InvalidArgumentError(
            f"Audio samples must be int16, int32 or float. Received: dtype={audio.dtype.name}"
        )
    wave = tf.cast(audio, tf.float32) / (scale or 1.0)
    if wave.shape.rank == 2:  # (frames, channels): mix down
        wave = tf.reduce_mean(wave, axis=-1)
    if int(rate) != spec.sample_rate:
        # scipy's polyphase filter through numpy: TensorFlow has no resampler.
        wave = tf.numpy_function(
            lambda x: wav.resample(x, rate, spec.sample_rate), [wave], tf.float32, stateful=False
        )
    wave = tf.reshape(wave, [-1])[: spec.samples]
    wave = tf.pad(wave, [[0, spec.samples - tf.shape(wave)[0]]])
    return tf.ensure_shape(tf.clip_by_value(wave, -1.0, 1.0), (spec.samples,))


def _checked_files(root):
    """Train and val `(path, label)` lists of a WAV folder, every header checked."""
    splits = folder.split_files(root, AudioInput.folder_suffixes)
    for split in splits:
        wav.read_headers(path for path, _ in split)
    return splits


def _wav_files(pairs, spec: AudioInput):
    """Unbatched `(float32 mono waveform at spec's rate, label)` of checked files."""
    import tensorflow as tf

    paths = tf.constant([p for p, _ in pairs], tf.string)
    labels = tf.constant([label for _, label in pairs], tf.int32)

    def decode(path, label):
        wave = tf.numpy_function(
            lambda p: wav.load_clip(p, spec.sample_rate), [path], tf.float32, stateful=False
        )
        return tf.ensure_shape(wave, (None,)), label

    return tf.data.Dataset.from_tensor_slices((paths, labels)).map(
        decode, num_parallel_calls=_AUTOTUNE
    )


def _fits_cache(ds, spec: AudioInput) -> bool:
    return int(ds.cardinality()) * spec.samples * 4 <= _CACHE_BYTES
