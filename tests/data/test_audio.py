"""Audio pipelines: WAV folders, tfds speech_commands, fitting to a model's input."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.data import audio, wav
from zoo.inputs import AudioInput

CLASSES = ("down", "go", "up")
LEVELS = np.array([0.25, -0.5, 0.75])  # each class's clips hold one constant value


def _level_folder(root, write_wav, rate=16000, per_class=5, stereo=False):
    """Class `k` clips are constant at `LEVELS[k]`; even clips last 1.25 s, odd 0.5 s."""
    for name, level in zip(CLASSES, LEVELS):
        for i in range(per_class):
            wave = np.full(int(rate * (0.5 if i % 2 else 1.25)), level)
            if stereo:  # the mean of both channels is `level`
                wave = np.stack([wave + 0.2, wave - 0.2], axis=1)
            write_wav(root / name / f"{i}.wav", wave, rate)
    return root


def _all(ds):
    waves, labels = zip(*ds.as_numpy_iterator())
    return np.concatenate(waves), np.concatenate(labels)


def test_wav_folder_through_get_dataset(tmp_path, write_wav):
    root = _level_folder(tmp_path / "clips", write_wav)
    info = zoo.dataset_info(str(root))
    assert (info.modality, info.source, info.sample_rate) == ("audio", "folder", 16000)
    assert info.class_names == CLASSES
    train, val = zoo.get_dataset(str(root), batch_size=4, seed=0)
    assert (len(train), len(val)) == (3, 1)  # 12 and 3 clips: one of 5 per class held out
    assert train.element_spec[0].shape.as_list() == [None, 16000]
    assert train.element_spec[0].dtype.name == "float32"
    assert train.element_spec[1].dtype.name == "int32"
    waves, labels = _all(train)
    val_waves, val_labels = _all(val)
    assert sorted(np.bincount(labels)) == [4, 4, 4] and list(val_labels) == [0, 1, 2]
    waves, labels = np.concatenate([waves, val_waves]), np.concatenate([labels, val_labels])
    # Every clip starts with its class's value; 0.5 s clips are padded with zeros
    # at the end, 1.25 s clips cut at 1 s.
    level = LEVELS[labels][:, None]
    np.testing.assert_allclose(waves[:, :8000], np.broadcast_to(level, (15, 8000)), atol=1e-4)
    padded = np.all(waves[:, 8000:] == 0, axis=1)
    assert padded.sum() == 6
    np.testing.assert_allclose(waves[~padded, 8000:], np.broadcast_to(level[~padded], (9, 8000)))


def test_folder_with_train_and_val_subfolders(tmp_path, write_wav):
    _level_folder(tmp_path / "ds" / "train", write_wav, per_class=3)
    _level_folder(tmp_path / "ds" / "val", write_wav, per_class=1)
    train, val = zoo.get_dataset(str(tmp_path / "ds"), batch_size=2)
    assert (len(_all(train)[1]), len(_all(val)[1])) == (9, 3)
    assert zoo.dataset_info(str(tmp_path / "ds")).class_names == CLASSES


@pytest.mark.parametrize("spec", [AudioInput(16000, 1.0), AudioInput(8000, 0.5)])
def test_make_pipelines_fits_the_spec(tmp_path, write_wav, spec):
    root = _level_folder(tmp_path / "clips", write_wav, per_class=2)
    train, val = audio.make_pipelines(
        str(root), zoo.dataset_info(str(root)), spec, batch_size=2, augment=True, seed=0
    )
    assert (len(train), len(val)) == (2, 2)
    waves, labels = _all(train)
    assert waves.shape == (3, spec.samples) and waves.dtype == np.float32
    # Resampling keeps a constant constant, away from the filter's edges.
    np.testing.assert_allclose(waves[:, spec.samples // 4], LEVELS[labels], atol=1e-3)


def test_clips_of_another_rate_are_resampled(tmp_path, write_wav):
    root = tmp_path / "tones"

    def tone(rate):
        return 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)

    for name in ("a", "b"):
        for i in range(3):
            write_wav(root / name / f"{i}.wav", tone(8000), rate=8000)
    write_wav(root / "b" / "16k.wav", tone(16000), rate=16000)  # one file at another rate
    info = zoo.dataset_info(str(root))
    assert info.sample_rate == 8000  # the rate most files have
    train, _ = zoo.get_dataset(str(root), batch_size=2)  # no model: the data's rate
    assert train.element_spec[0].shape.as_list() == [None, 8000]
    train, val = audio.make_pipelines(str(root), info, AudioInput(16000, 1.0), batch_size=8)
    waves = np.concatenate([_all(train)[0], _all(val)[0]])
    assert waves.shape == (7, 16000)
    # The polyphase filter is exact but near the clip's ends.
    expected = np.tile(tone(16000)[100:-100], (7, 1))
    np.testing.assert_allclose(waves[:, 100:-100], expected, atol=2e-3)


def test_stereo_is_mixed_down(tmp_path, write_wav):
    root = _level_folder(tmp_path / "stereo", write_wav, per_class=2, stereo=True)
    waves, labels = _all(zoo.get_dataset(str(root), batch_size=2)[0])
    assert waves.shape == (3, 16000)
    np.testing.assert_allclose(waves[:, 0], LEVELS[labels], atol=1e-4)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_sample_widths(tmp_path, write_wav, width):
    stereo = np.stack([np.full(80, 0.5), np.full(80, -0.25)], axis=1)
    header = wav.read_header(write_wav(tmp_path / "x.wav", stereo, 8000, width=width))
    assert (header.channels, header.bits, header.frames) == (2, 8 * width, 80)
    # Stereo is mixed down to the mean of its channels.
    np.testing.assert_allclose(wav.load_clip(header.path, 8000), np.full(80, 0.125), atol=1 / 2**7)


def test_float_wav(tmp_path):
    from scipy.io import wavfile

    path = tmp_path / "f.wav"
    wavfile.write(path, 16000, np.array([0.5, -0.25, 1.5, -2.0], "float32"))
    clip = wav.load_clip(path, 16000)
    np.testing.assert_array_equal(clip, [0.5, -0.25, 1.0, -1.0])  # clipped to [-1, 1]
    assert clip.dtype == np.float32


def _patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


# name -> (how to damage a good mono 16-bit file's bytes, a phrase of the reason)
BAD_FILES = {
    "empty": (lambda good: b"", "empty"),
    "not_riff": (lambda good: b"ID3\x04" + bytes(200), "not a RIFF/WAVE file"),
    "bad_header": (lambda good: good[:30], "'fmt ' chunk is shorter"),
    "no_frames": (lambda good: good[:40] + bytes(4), "0 audio frames"),
    "truncated": (lambda good: good[:-100], "truncated"),
    "compressed": (lambda good: _patched(good, 20, b"\x02\x00"), "format tag is 2"),
    "three_channels": (lambda good: _patched(good, 22, b"\x03\x00"), "3 channels"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_wav_is_an_error_naming_the_file(tmp_path, write_wav, case):
    root = _level_folder(tmp_path / "clips", write_wav, per_class=2)
    damage, reason = BAD_FILES[case]
    bad = root / "go" / "bad.wav"
    bad.write_bytes(damage((root / "go" / "0.wav").read_bytes()))
    for call in (zoo.dataset_info, lambda r: zoo.get_dataset(r, batch_size=2)):
        with pytest.raises(errors.AudioFileError) as caught:
            call(str(root))
        message = str(caught.value)
        assert str(bad) in message and reason in message
        assert "16-bit PCM" in message and "mono or stereo" in message
        assert isinstance(caught.value, zoo.ZooError)


def test_speech_commands_on_mock_data(mock_tfds):
    import tensorflow_datasets as tfds

    assert "speech_commands" in zoo.list_datasets("audio")
    info = zoo.dataset_info("speech_commands")
    assert (info.modality, info.sample_rate, info.num_classes) == ("audio", 16000, 12)
    assert info.class_names[-2:] == ("_silence_", "_unknown_")
    train, val = zoo.get_dataset("speech_commands", batch_size=4)
    assert (len(train), len(val)) == (2, 2)
    waves, labels = (t.numpy() for t in next(iter(val)))
    assert waves.shape == (4, 16000) and waves.dtype == np.float32 and labels.dtype == np.int32
    # int16 samples / 32768, padded with zeros to 1 s; validation order is fixed.
    raw = tfds.builder("speech_commands").as_dataset(split="validation").take(4)
    for row, example in zip(waves, raw):
        clip = example["audio"].numpy()
        np.testing.assert_array_equal(row[: len(clip)], clip / np.float32(32768))
        assert not row[len(clip) :].any()
    assert set(labels) <= set(range(12))
    for spec in (AudioInput(16000, 1.0), AudioInput(8000, 0.5)):
        train, _ = audio.make_pipelines("speech_commands", info, spec, batch_size=4, seed=0)
        waves, labels = next(iter(train))
        assert waves.shape == (4, spec.samples) and labels.dtype.name == "int32"
        assert -1.0 <= float(np.min(waves)) and float(np.max(waves)) <= 1.0


def test_unprepared_speech_commands_fails_fast_offline(tmp_path):
    with pytest.raises(errors.DatasetNotAvailableError) as caught:
        zoo.get_dataset("speech_commands", data_dir=str(tmp_path))
    message = str(caught.value)
    assert "'speech_commands'" in message and str(tmp_path) in message
    assert "tfds.builder('speech_commands'" in message


def test_models_of_another_kind_are_refused(tmp_path, write_wav):
    import keras

    root = _level_folder(tmp_path / "clips", write_wav, per_class=2)
    # A waveform model: 8000 samples at the default 16 kHz is 0.5 s clips.
    model = keras.Sequential([keras.Input((8000,)), keras.layers.Dense(10)])
    train, _ = zoo.get_dataset(str(root), model=model, batch_size=2)
    assert train.element_spec[0].shape.as_list() == [None, 8000]
    with pytest.raises(errors.InvalidArgumentError, match="takes audio inputs"):
        zoo.get_dataset("digits", model=model)
    with pytest.raises(errors.InvalidArgumentError, match="holds audio data"):
        zoo.get_dataset(str(root), model="resnet20")


def test_batches_split_over_replicas(tmp_path, write_wav):
    import tensorflow as tf

    root = _level_folder(tmp_path / "clips", write_wav, per_class=2)

    class TwoReplicas:  # stands in for a 2-replica strategy without making devices
        num_replicas_in_sync = 2

    with pytest.raises(errors.InvalidArgumentError, match="batch_size=3"):
        zoo.get_dataset(str(root), batch_size=3, strategy=TwoReplicas())
    train, _ = zoo.get_dataset(str(root), batch_size=2, strategy=tf.distribute.get_strategy())
    # Sharded by example: one folder is one "file" to tf.data.
    policy = train.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA


# A fresh process: the CPU can only be split into replicas before TensorFlow starts.
_MIRRORED = """
import sys, numpy as np, tensorflow as tf, zoo
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
train, _ = zoo.get_dataset(sys.argv[1], batch_size=4, strategy=strategy, seed=0)
seen = []
for waves, labels in strategy.experimental_distribute_dataset(train):
    parts = strategy.experimental_local_results(waves)
    print([tuple(p.shape) for p in parts])
    seen += [int(v) for p in strategy.experimental_local_results(labels) for v in p]
print(sorted(seen))
"""


@pytest.mark.slow
def test_mirrored_strategy_gets_half_a_batch_per_replica(tmp_path, write_wav):
    root = _level_folder(tmp_path / "clips", write_wav, per_class=3)  # 2 per class in train
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MIRRORED), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[:-1] == ["[(2, 16000), (2, 16000)]", "[(1, 16000), (1, 16000)]"]
    assert lines[-1] == "[0, 0, 1, 1, 2, 2]"
