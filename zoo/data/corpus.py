"""Unlabeled text for masked-language-model pretraining: corpora and their masked batches.

A corpus is a plain `.txt` file (one text per line, blank lines skipped;
every tenth line is held out for validation) or any text dataset zoo reads
(`sentiment`, `imdb_reviews`, a CSV/TSV table, a folder of class
subfolders), whose labels are ignored and whose validation split is kept.

`masked_lm_pipeline` tokenizes with a word tokenizer whose vocabulary ends
with the mask token, and masks with keras-hub's `MaskedLMMaskGenerator`
(BERT's recipe: select `mask_rate` of the tokens; of those 80% become the
mask token, 10% a random token, 10% stay). Training batches are masked
afresh each epoch (dynamic masking, as RoBERTa); validation batches are
masked once and cached, so every epoch is scored on the same masks.

Example:

>>> train, val = corpus_splits("notes.txt")
>>> tokenizer = masked_lm_tokenizer(train, vocabulary_size=20000, sequence_length=128)
>>> batches = masked_lm_pipeline(train, tokenizer, batch_size=64, training=True)
"""

from __future__ import annotations

import math
from pathlib import Path

from zoo import errors, validation
from zoo.data import text
from zoo.data.pipeline import _AUTOTUNE, finish, training_batches
from zoo.data.tokenizers import WordTokenizer
from zoo.nlp.masked_lm import MASK, MASK_RATE

# Every VALIDATION_EVERY-th line of a .txt corpus is held out for validation.
VALIDATION_EVERY = 10


def corpus_splits(corpus, *, data_dir=None, table_columns=None):
    """Unbatched scalar-string `(train, validation)` datasets of a corpus.

    Args:
        corpus: str or Path. A `.txt` file, or a text dataset (name, table,
            class folder).
        data_dir: str or None. tfds data directory.
        table_columns: dict or None. `text_column` (and `label_column`) of a table.

    Raises:
        DatasetNotAvailableError: the `.txt` file does not exist.
        DataFileError: it holds fewer than `VALIDATION_EVERY` texts.

    Example:

    >>> train, val = corpus_splits("notes.txt")   # 100 lines: 90 and 10 texts
    """
    if not text.is_text_file(corpus):
        train, val = text.text_splits(corpus, data_dir, table_columns)
        return train.map(_text_only), val.map(_text_only)
    import tensorflow as tf

    path = Path(corpus)
    if not path.is_file():
        raise errors.DatasetNotAvailableError(
            f"Corpus file {str(corpus)!r} does not exist. Pass a .txt file with one text per "
            f"line, or a text dataset (zoo.list_datasets(), a CSV/TSV file, a folder)."
        )
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        raise errors.DataFileError(
            f"Cannot read corpus {str(corpus)!r} as UTF-8 text: {err}. Accepted: a UTF-8 "
            f".txt file with one text per line."
        ) from err
    texts = [line for line in lines if line]
    if len(texts) < VALIDATION_EVERY:
        raise errors.DataFileError(
            f"Corpus {str(corpus)!r} holds {len(texts)} non-blank lines; pretraining needs at "
            f"least {VALIDATION_EVERY} (one text per line, every {VALIDATION_EVERY}th held out "
            f"for validation)."
        )
    held_out = [t for i, t in enumerate(texts) if i % VALIDATION_EVERY == VALIDATION_EVERY - 1]
    trained = [t for i, t in enumerate(texts) if i % VALIDATION_EVERY != VALIDATION_EVERY - 1]
    return (
        tf.data.Dataset.from_tensor_slices(trained),
        tf.data.Dataset.from_tensor_slices(held_out),
    )


def check_mask_rate(mask_rate) -> float:
    """Returns `mask_rate` if it is a share in (0, 1), else raises `InvalidArgumentError`.

    Args:
        mask_rate: object. What the caller passed.

    Example:

    >>> check_mask_rate(0.15)
    0.15
    """
    ok = isinstance(mask_rate, (int, float)) and not isinstance(mask_rate, bool)
    if not ok or not 0 < mask_rate < 1:
        raise errors.InvalidArgumentError(
            f"mask_rate is the share of tokens to predict, in (0, 1); BERT uses 0.15. "
            f"Received: mask_rate={mask_rate!r}"
        )
    return float(mask_rate)


def _text_only(text, label):
    del label  # a corpus is unlabeled: a labeled dataset lends its texts
    return text


def masked_lm_tokenizer(texts, *, vocabulary_size: int, sequence_length: int) -> WordTokenizer:
    """A word tokenizer adapted on `texts`, its vocabulary ending with `MASK`.

    The mask token is never produced from text (the tokenizer strips
    brackets), so a model fine-tuned with this vocabulary reads text as
    the pretraining did.

    Args:
        texts: tf.data.Dataset of scalar strings, or a list of str.
        vocabulary_size: int. Largest vocabulary, padding, unknown and mask included.
        sequence_length: int. Ids per text.

    Example:

    >>> masked_lm_tokenizer(["the plot was clever"], vocabulary_size=100,
    ...                     sequence_length=8).vocabulary[-1]
    '[MASK]'
    """
    vocabulary_size = validation.check_positive_int("vocabulary_size", vocabulary_size, minimum=4)
    words = WordTokenizer.adapt(
        texts, vocabulary_size=vocabulary_size - 1, sequence_length=sequence_length
    )
    return WordTokenizer([*words.vocabulary, MASK], sequence_length)


def masked_lm_pipeline(
    texts,
    tokenizer,
    *,
    batch_size: int,
    training: bool,
    mask_rate: float = MASK_RATE,
    seed: int | None = None,
    strategy=None,
    stream=None,
):
    """Batches of `({"token_ids", "mask_positions"}, mask_ids, mask_weights)`.

    Args:
        texts: tf.data.Dataset of scalar strings (unbatched).
        tokenizer: WordTokenizer. Its last token is `MASK`.
        batch_size: int. The global batch size.
        training: bool. Shuffle and mask afresh each epoch; else mask once
            and cache.
        mask_rate: float. Share of tokens selected for prediction, in (0, 1).
        seed: int or None. Shuffle seed.
        strategy: tf.distribute.Strategy or None. Shard by example under it.
        stream: EpochStream or None. Training only: several epochs in one
            dataset, each ordered by (seed, epoch), the first `skip` batches
            left out (a resumed run; the masks are drawn afresh). One
            iterator reads every epoch of a stream, so each epoch gets new
            masks even under TensorFlow's op determinism, where a new
            iterator may draw the same masks again (`zoo pretrain` uses one).

    Returns:
        A prefetched dataset for `MaskedLanguageModel.fit`: `mask_weights`
        is 0 on the padding of `mask_positions`, so those count for nothing.

    Example:

    >>> inputs, mask_ids, mask_weights = next(iter(masked_lm_pipeline(
    ...     val, tokenizer, batch_size=64, training=False)))
    """
    import keras_hub
    import tensorflow as tf

    if tokenizer.vocabulary[-1] != MASK:
        raise errors.InvalidArgumentError(
            f"A masked-LM tokenizer's vocabulary ends with {MASK!r} (masked_lm_tokenizer). "
            f"Received: a vocabulary ending with {tokenizer.vocabulary[-1]!r}"
        )
    mask_rate = check_mask_rate(mask_rate)
    masker = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=tokenizer.vocabulary_size,
        mask_selection_rate=mask_rate,
        mask_token_id=tokenizer.vocabulary_size - 1,
        # Room for the selections of a full sequence, with some to spare.
        mask_selection_length=max(1, math.ceil(tokenizer.sequence_length * mask_rate * 1.5)),
        unselectable_token_ids=[0],
    )

    def tokenize_and_mask(texts):
        masked = masker(tokenizer(texts))
        ids, positions, targets = (
            tf.cast(masked[k], tf.int32) for k in ("token_ids", "mask_positions", "mask_ids")
        )
        return {"token_ids": ids, "mask_positions": positions}, targets, masked["mask_weights"]

    ds = texts.cache()
    if training:
        ds = training_batches(ds, seed, stream, batch_size, transform=tokenize_and_mask)
    else:
        ds = ds.batch(batch_size).map(tokenize_and_mask, num_parallel_calls=_AUTOTUNE)
        ds = ds.cache()  # masked once: each epoch is scored on the same masks
    return finish(ds, strategy)
