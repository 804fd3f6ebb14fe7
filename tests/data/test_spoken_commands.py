"""The embedded spoken_commands dataset: speech synthesized with espeak-ng at prepare time.

The set is prepared once into the suite's shared TFDS_DATA_DIR (through zoo's
locked prepare, so xdist workers and the speech learning checks share it).
"""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def builder():
    from zoo.data import catalog, tfds_source

    builder, _, _ = tfds_source.load_splits(catalog.get_source("spoken_commands"))
    return builder


@pytest.fixture(scope="module")
def test_split(builder):
    return list(builder.as_dataset(split="test").as_numpy_iterator())


@pytest.fixture(scope="module")
def train_labels_and_speakers(builder):
    import tensorflow_datasets as tfds

    # Not decompressing 4,800 clips keeps this cheap.
    train = builder.as_dataset(split="train", decoders={"audio": tfds.decode.SkipDecoding()})
    pairs = [(e["label"], e["speaker_id"].decode()) for e in train.as_numpy_iterator()]
    return [label for label, _ in pairs], {speaker for _, speaker in pairs}


def test_features_and_labels_are_those_of_tfds_speech_commands(builder):
    import tensorflow_datasets as tfds
    from tensorflow_datasets.datasets.speech_commands import speech_commands_dataset_builder as sc

    features = builder.info.features
    assert features["label"].names == [*sc.WORDS, sc.SILENCE, sc.UNKNOWN]
    assert isinstance(features["audio"], tfds.features.Audio)
    assert features["audio"].sample_rate == 16000
    assert features["audio"].np_dtype == np.int16
    assert builder.info.splits["train"].num_examples == 4800
    assert builder.info.splits["test"].num_examples == 1200


def test_classes_are_balanced_and_clips_are_one_second_of_int16(
    test_split, train_labels_and_speakers
):
    assert np.bincount(train_labels_and_speakers[0]).tolist() == [400] * 12
    assert np.bincount([e["label"] for e in test_split]).tolist() == [100] * 12
    audio = np.stack([example["audio"] for example in test_split])
    assert audio.shape == (1200, 16000) and audio.dtype == np.int16
    assert np.abs(audio.astype(np.int32)).max(axis=1).min() > 0  # no empty clip


def _loudness_contrast_db(audio):
    """Loudest 25 ms frame over the median frame: high for a word in noise."""
    frames = audio.astype(np.float64).reshape(40, 400)
    energy = np.mean(frames**2, axis=1) + 1e-3
    return 10 * np.log10(energy.max() / np.median(energy))


def test_words_stand_out_of_the_noise_and_silence_holds_none(test_split):
    silence = [e for e in test_split if e["label"] == 10]
    words = [e for e in test_split if e["label"] != 10]
    silence_db = np.median([_loudness_contrast_db(e["audio"]) for e in silence])
    words_db = np.median([_loudness_contrast_db(e["audio"]) for e in words])
    # Stationary noise alone is flat (measured: median 3 dB); a spoken word
    # rises well above the noise floor around it (median 21 dB).
    assert silence_db < 6 and words_db > 15, (silence_db, words_db)
    assert {e["speaker_id"] for e in silence} == {b""}
    assert all(e["speaker_id"] for e in words)


def test_test_voices_are_never_heard_in_training(test_split, train_labels_and_speakers):
    train_ids = set(train_labels_and_speakers[1])
    test_ids = {e["speaker_id"].decode() for e in test_split}
    train_ids.discard("")
    test_ids.discard("")

    def variants(ids):
        return {speaker.partition("+")[2] for speaker in ids}

    assert not variants(train_ids) & variants(test_ids)
    assert len(train_ids) > 300 and len(test_ids) > 100  # many voices on both sides


def test_blocks_regenerate_bit_for_bit(test_split):
    from zoo.data import spoken_commands

    # The stored clips were made in another process (or an earlier run); this
    # one synthesizes two blocks again, out of order, after other speech.
    spoken_commands.generate_block("train", 5)
    for block in (23, 1):
        for offset, clip in enumerate(spoken_commands.generate_block("test", block)):
            stored = test_split[block * spoken_commands.BLOCK_SIZE + offset]
            assert clip["label"] == stored["label"]
            assert clip["speaker_id"] == stored["speaker_id"].decode()
            np.testing.assert_array_equal(clip["audio"], stored["audio"])
