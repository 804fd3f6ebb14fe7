"""Text sources beyond tfds (folders, CSV/TSV files) and the text pipeline.

Texts stay strings through caching and shuffling; each batch is tokenized in
one vectorized call (`WordTokenizer`), so the tokenizer runs once per batch
and the cache holds raw text, not one padded id matrix per sequence length.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from zoo import errors
from zoo.data import files as data_files
from zoo.data import folder
from zoo.data.catalog import SOURCES, get_source
from zoo.data.pipeline import finish, training_batches
from zoo.data.tfds_source import load_splits
from zoo.data.tokenizers import TOKENIZERS
from zoo.inputs import TokenInput

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_SPLIT_SEED = 1337
_AUTOTUNE = -1
DEFAULT_VOCABULARY_SIZE = 20_000
DEFAULT_SEQUENCE_LENGTH = 128


def is_table_file(name) -> bool:
    """Whether `name` is an existing `.csv` or `.tsv` file."""
    return (
        isinstance(name, (str, Path))
        and Path(name).suffix.lower() in TABLE_SUFFIXES
        and Path(name).is_file()
    )


def is_text_file(name) -> bool:
    """Whether `name` names a plain-text corpus file (`.txt`), existing or not.

    Args:
        name: str or Path.

    Example:

    >>> is_text_file("notes.txt"), is_text_file("reviews.csv")
    (True, False)
    """
    return isinstance(name, (str, Path)) and str(name).lower().endswith(".txt")


def read_table(path, *, text_column: str = "text", label_column: str = "label"):
    """Reads a CSV/TSV file into texts, integer labels and sorted class names.

    Args:
        path: str or Path. A `.csv` (comma) or `.tsv` (tab) file with a header.
        text_column: str. The column holding the text.
        label_column: str. The column holding the class name (or number).

    Returns:
        `(texts, labels, class_names)`.

    Example:

    >>> texts, labels, names = read_table("reviews.csv", text_column="review")
    """
    path = Path(path)
    content = data_files.check_utf8(path.read_bytes(), path)
    with io.StringIO(content, newline="") as handle:
        reader = csv.DictReader(handle, delimiter=TABLE_SUFFIXES[path.suffix.lower()])
        columns = reader.fieldnames or []
        missing = [c for c in (text_column, label_column) if c not in columns]
        if missing:
            raise errors.InvalidArgumentError(
                f"{str(path)!r} has columns {columns}; the text and label columns "
                f"{missing} are missing. Pass text_column= / label_column=. "
                f"Received: text_column={text_column!r}, label_column={label_column!r}"
            )
        rows = [(row[text_column] or "", (row[label_column] or "").strip()) for row in reader]
    empty = [i + 2 for i, (_, label) in enumerate(rows) if not label]
    if empty:
        raise errors.InvalidArgumentError(
            f"{str(path)!r} has rows without a label (lines {empty[:5]}); every row needs "
            f"one. Received: empty {label_column!r}"
        )
    names = sorted({label for _, label in rows}, key=_natural)
    if len(names) < 2:
        raise errors.InvalidArgumentError(
            f"{str(path)!r} needs at least 2 classes in {label_column!r}. Received: {names}"
        )
    index = {name: i for i, name in enumerate(names)}
    return [t for t, _ in rows], [index[label] for _, label in rows], names


def load_table(path, *, text_column="text", label_column="label", validation_fraction=0.2):
    """A CSV/TSV file as unbatched `(text, label)` train and validation datasets.

    Args:
        path: str or Path. The table file.
        text_column: str. Text column name.
        label_column: str. Label column name.
        validation_fraction: float. Held-out share (stratified, fixed seed).
    """
    import numpy as np
    import tensorflow as tf

    texts, labels, _ = read_table(path, text_column=text_column, label_column=label_column)
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(texts))
    val_idx = set()
    for label in set(labels):  # stratified: each class keeps its share in validation
        members = [i for i in order if labels[i] == label]
        val_idx.update(members[: max(1, int(round(len(members) * validation_fraction)))])
    train = [i for i in order if i not in val_idx]
    val = sorted(val_idx)

    def take(indices):
        return tf.data.Dataset.from_tensor_slices(
            (
                tf.constant([texts[i] for i in indices], tf.string),
                tf.constant([labels[i] for i in indices], tf.int32),
            )
        )

    return take(train), take(val)


def load_text_folder(root, class_names, validation_fraction: float = 0.2):
    """`ROOT/<class>/*.txt` (or `ROOT/train` + `ROOT/val`) as `(text, label)` datasets.

    Args:
        root: str or Path. The dataset folder.
        class_names: list of str. Class subfolders, in label order.
        validation_fraction: float. Held-out share when there is no val folder.
    """
    import keras

    train_dir, val_dir = folder._split_dirs(Path(root))
    # Keras reads the files lazily and would pass bytes that are not UTF-8 on to
    # the tokenizer; name such a file now instead.
    for directory in (train_dir, val_dir):
        if directory is not None:
            for class_files in folder._files_by_class(directory, class_names, (".txt",)):
                data_files.check_utf8_files(class_files)
    common = dict(
        labels="inferred", label_mode="int", class_names=list(class_names), batch_size=None
    )
    try:
        if val_dir is not None:
            return (
                keras.utils.text_dataset_from_directory(
                    train_dir, shuffle=True, seed=_SPLIT_SEED, **common
                ),
                keras.utils.text_dataset_from_directory(val_dir, shuffle=False, **common),
            )
        return keras.utils.text_dataset_from_directory(
            train_dir,
            validation_split=validation_fraction,
            subset="both",
            seed=_SPLIT_SEED,
            **common,
        )
    except ValueError as err:  # no .txt files, or a class missing from a split
        raise errors.InvalidArgumentError(
            f"Cannot read text folder dataset {str(root)!r}: {err}. Accepted: class "
            f"subfolders holding .txt files (ROOT/<class>/*.txt)."
        ) from err


def default_input():
    """The `TokenInput` used when `get_dataset` is given no model."""
    return TokenInput(length=DEFAULT_SEQUENCE_LENGTH, vocabulary_size=DEFAULT_VOCABULARY_SIZE)


def text_splits(name, data_dir=None, table_columns=None):
    """Unbatched `(text, label)` train and validation datasets of any text source.

    Args:
        name: str or Path. A text dataset name, a folder of `.txt` class
            subfolders, or a CSV/TSV file.
        data_dir: str or None. tfds data directory.
        table_columns: dict or None. `text_column` / `label_column` of a table.
    """
    if is_table_file(name):
        return load_table(name, **(table_columns or {}))
    if folder.is_folder_dataset(name):
        return load_text_folder(name, folder.class_names(name))
    source = get_source(name)
    if source.modality != "text":
        raise errors.InvalidArgumentError(
            f"Dataset {source.name!r} holds {source.modality}s, not text. Text datasets: "
            f"{sorted(n for n, s in SOURCES.items() if s.modality == 'text')}. "
            f"Received: {source.name!r}"
        )
    _, train, val = load_splits(source, data_dir)
    return train, val


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
    """`(train, val)` token-id pipelines of a text dataset fitted to `spec`.

    Args:
        name: str or Path. The dataset (see `zoo.get_dataset`).
        info: DatasetInfo. Its description.
        spec: TokenInput or None. The model's input; None for the defaults.
        batch_size: int. The global batch size.
        data_dir: str or None. tfds data directory.
        augment: ignored: text pipelines do not augment.
        strategy: tf.distribute.Strategy or None. Shard by example under it.
        seed: int or None. Shuffle seed.
        stream: EpochStream or None. The training split as several epochs (see
            `zoo.data.EpochStream`).
        tokenizer: WordTokenizer, WordPieceTokenizer or None. None adapts the
            spec's tokenizer kind on the training split.
        table_columns: dict or None. `text_column` / `label_column` of a table.
    """
    spec = spec or default_input()
    train, val = text_splits(name, data_dir, table_columns)
    if tokenizer is None:
        tokenizer = adapt_tokenizer(train.map(lambda t, _: t), spec)
    elif tokenizer.vocabulary_size > spec.vocabulary_size:
        raise errors.InvalidArgumentError(
            f"The tokenizer has {tokenizer.vocabulary_size} tokens but the model embeds "
            f"only {spec.vocabulary_size}. Received: tokenizer with "
            f"vocabulary_size={tokenizer.vocabulary_size}"
        )
    elif tokenizer.sequence_length > spec.length:
        raise errors.InvalidArgumentError(
            f"The tokenizer makes sequences of {tokenizer.sequence_length} ids but the "
            f"model reads at most {spec.length}. Received: tokenizer with "
            f"sequence_length={tokenizer.sequence_length}; use a tokenizer of "
            f"sequence_length <= {spec.length}"
        )
    common = dict(tokenizer=tokenizer, batch_size=batch_size, strategy=strategy)
    return (
        build_text_pipeline(train, training=True, seed=seed, stream=stream, **common),
        build_text_pipeline(val, training=False, **common),
    )


def adapt_tokenizer(texts, spec):
    """The tokenizer `spec` names, adapted on `texts` (or on the weights' vocabulary).

    Args:
        texts: tf.data.Dataset of scalar strings.
        spec: TokenInput. Tokenizer kind, vocabulary size and sequence length;
            its `vocabulary`, when the model's weights bring one, is used as is.
    """
    if spec.vocabulary:
        return TOKENIZERS[spec.tokenizer](list(spec.vocabulary), spec.length)
    return TOKENIZERS[spec.tokenizer].adapt(
        texts, vocabulary_size=spec.vocabulary_size, sequence_length=spec.length
    )


def build_text_pipeline(
    ds,
    *,
    tokenizer,
    batch_size: int,
    training: bool,
    seed: int | None = None,
    strategy=None,
    stream=None,
):
    """Caches, shuffles, batches and tokenizes unbatched `(text, label)` pairs.

    Args:
        ds: tf.data.Dataset of `(scalar string, int label)`.
        tokenizer: WordTokenizer or WordPieceTokenizer. Maps a batch of
            strings to int32 ids (a dict of id tensors for BERT).
        batch_size: int. The global batch size.
        training: bool. Shuffle every epoch.
        seed: int or None. Shuffle seed.
        strategy: tf.distribute.Strategy or None. Shard by example under it.
        stream: EpochStream or None. Training only: see `zoo.data.EpochStream`.

    Returns:
        A prefetched dataset of `(int32 token ids (batch, length) or a dict of
        them, int32 labels)`.
    """
    import tensorflow as tf

    ds = ds.map(
        lambda text, label: (text, tf.cast(label, tf.int32)), num_parallel_calls=_AUTOTUNE
    ).cache()

    def tokenize(texts, labels):
        return tokenizer(texts), labels

    if training:
        ds = training_batches(ds, seed, stream, batch_size, transform=tokenize)
    else:
        ds = ds.batch(batch_size).map(tokenize, num_parallel_calls=_AUTOTUNE)
    return finish(ds, strategy)


def _natural(text: str):
    return (0, int(text)) if text.lstrip("-").isdigit() else (1, text)
