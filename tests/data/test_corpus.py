"""Corpora for masked-LM pretraining: splits, the mask-token vocabulary, masked batches."""

import numpy as np
import pytest

from zoo import errors
from zoo.data import corpus
from zoo.data.pipeline import EpochStream
from zoo.nlp.masked_lm import MASK


def write_lines(path, count):
    path.write_text("\n".join(f"text number {i} of the corpus" for i in range(count)) + "\n\n")
    return path


def texts(ds):
    return [t.decode() for t in ds.as_numpy_iterator()]


def test_a_txt_corpus_holds_out_every_tenth_line(tmp_path):
    train, val = corpus.corpus_splits(write_lines(tmp_path / "notes.txt", 25))
    assert texts(val) == ["text number 9 of the corpus", "text number 19 of the corpus"]
    assert len(texts(train)) == 23 and "text number 9 of the corpus" not in texts(train)


def test_a_labeled_dataset_lends_its_texts():
    train, val = corpus.corpus_splits("sentiment")
    first = next(train.as_numpy_iterator())
    assert isinstance(first, bytes) and int(val.cardinality()) == 1000


@pytest.mark.parametrize(
    "lines, error, match",
    [
        (None, errors.DatasetNotAvailableError, "does not exist. Pass a .txt file"),
        (9, errors.DataFileError, "holds 9 non-blank lines; pretraining needs at least 10"),
    ],
)
def test_a_missing_or_tiny_corpus_is_refused(tmp_path, lines, error, match):
    path = tmp_path / "notes.txt"
    if lines is not None:
        write_lines(path, lines)
    with pytest.raises(error, match=match):
        corpus.corpus_splits(path)


def test_masked_batches_hide_tokens_and_keep_their_ids_as_targets(tmp_path):
    train, val = corpus.corpus_splits(write_lines(tmp_path / "notes.txt", 200))
    tokenizer = corpus.masked_lm_tokenizer(train, vocabulary_size=100, sequence_length=8)
    mask_id = tokenizer.vocabulary_size - 1
    assert tokenizer.vocabulary[mask_id] == MASK
    # Text never produces the mask token: the tokenizer strips the brackets.
    assert mask_id not in np.asarray(tokenizer(["[MASK] text [mask]"])).tolist()[0]

    batches = corpus.masked_lm_pipeline(val, tokenizer, batch_size=4, training=False, mask_rate=0.5)
    inputs, targets, weights = list(batches)[0]  # a whole pass fills the cache
    original = np.asarray(tokenizer(texts(val)[:4]))
    ids, positions = np.asarray(inputs["token_ids"]), np.asarray(inputs["mask_positions"])
    targets, weights = np.asarray(targets), np.asarray(weights)
    assert ids.dtype == positions.dtype == targets.dtype == np.int32
    assert weights.sum() > 0 and set(np.unique(weights)) <= {0.0, 1.0}
    for row in range(4):
        chosen = positions[row][weights[row] == 1]
        # The targets are the original ids at the chosen positions, never padding.
        assert (targets[row][weights[row] == 1] == original[row][chosen]).all()
        assert (original[row][chosen] != 0).all()
    assert (ids == mask_id).any()  # 80% of the chosen become the mask token
    # Validation is masked once: every epoch scores the same masks.
    again = list(batches)[0]
    np.testing.assert_array_equal(np.asarray(again[0]["token_ids"]), ids)

    with pytest.raises(errors.InvalidArgumentError, match=r"mask_rate .* in \(0, 1\)"):
        corpus.masked_lm_pipeline(val, tokenizer, batch_size=4, training=True, mask_rate=1.5)


def test_training_batches_are_masked_afresh_each_epoch(tmp_path):
    # Ten copies of one text: any difference between two epochs is the masking's.
    path = tmp_path / "same.txt"
    path.write_text("\n".join(["one two three four five six seven eight"] * 10) + "\n")
    train, _ = corpus.corpus_splits(path)
    tokenizer = corpus.masked_lm_tokenizer(train, vocabulary_size=20, sequence_length=8)
    # Two epochs of one stream, as `zoo pretrain` reads them: one iterator,
    # so the masks move on even where an earlier test of this process turned
    # TensorFlow's op determinism on (a new iterator may then repeat them).
    batches = corpus.masked_lm_pipeline(
        train,
        tokenizer,
        batch_size=9,
        training=True,
        mask_rate=0.4,
        seed=0,
        stream=EpochStream(0, 2),
    )
    epochs = [np.asarray(inputs["token_ids"]) for inputs, _, _ in batches]
    assert len(epochs) == 2 and not np.array_equal(*epochs)
