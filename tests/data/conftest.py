"""Fixtures for the data tests: mocked tfds, tiny image folders and WAV files."""

import numpy as np
import pytest


@pytest.fixture
def mock_tfds(monkeypatch):
    """tfds serving 8 random, correctly shaped examples per split, offline.

    tfds' mock makes `download_and_prepare` a no-op, so zoo's loader is told
    the network is up and follows its real "prepare, then read" path.
    """
    import tensorflow_datasets as tfds

    from zoo.data import tfds_source

    monkeypatch.setattr(tfds_source, "network_available", lambda: True)
    with tfds.testing.mock_data(num_examples=8, policy=tfds.testing.MockPolicy.USE_CODE):
        yield


def _write_image_folder(
    root, classes=("cat", "dog", "owl"), per_class=10, size=(12, 10), channels=3
):
    """Writes `per_class` random PNGs into `root/<class>/`; returns root."""
    import keras

    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, channels)).astype("uint8")
            keras.utils.save_img(root / name / f"{i}.png", pixels)
    return root


@pytest.fixture
def make_image_folder():
    """The folder writer, for tests that need their own layout."""
    return _write_image_folder


@pytest.fixture
def image_folder(tmp_path):
    return _write_image_folder(tmp_path / "photos")


def _write_wav(path, samples, rate=16000, width=2):
    """Writes float samples in [-1, 1] (`(frames,)` or `(frames, channels)`) as PCM.

    Python's `wave` writes the file, so the reader is tested against another
    implementation. `width` is bytes per sample: 1 (unsigned), 2, 3 or 4.
    """
    import wave

    samples = np.asarray(samples, "float64")
    frames = samples.reshape(len(samples), -1)
    scale = 2.0 ** (8 * width - 1)
    ints = np.clip(np.round(frames * scale), -scale, scale - 1).astype("<i8")
    if width == 1:
        data = (ints + 128).astype("u1").tobytes()
    else:  # little-endian two's complement, `width` low bytes of each int64
        data = ints.view("u1").reshape(*ints.shape, 8)[..., :width].tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(frames.shape[1])
        handle.setsampwidth(width)
        handle.setframerate(rate)
        handle.writeframes(data)
    return path


@pytest.fixture
def write_wav():
    """The WAV writer: `write_wav(path, samples, rate=16000, width=2)`."""
    return _write_wav
