"""Text sources beyond tfds (folders, CSV/TSV files) and the text pipeline.

Texts stay strings through caching and shuffling; each batch is tokenized in
one vectorized call (`WordTokenizer`), so the tokenizer runs once per batch
and the cache holds raw text, not one padded id matrix per sequence length.
"""

from __future__ import annotations

import csv
from pathlib import Path

from zoo import errors

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_SPLIT_SEED = 1337
_AUTOTUNE = -1
DEFAULT_VOCABULARY_SIZE = 20_000
DEFAULT_SEQUENCE_LENGTH = 128


def is_table_file(name) -> bool:
    """Whether `name` is an existing `.csv` or `.tsv` file."""
    return isinstance(name, (str, Path)) and Path(name).suffix.lower() in TABLE_SUFFIXES \
        and Path(name).is_file()


def is_text_folder(root) -> bool:
    """Whether a class-subfolder dataset holds `.txt` files (else images)."""
    for path in Path(root).rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            return path.suffix.lower() == ".txt"
    return False


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
    with open(path, newline="", encoding="utf-8") as handle:
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
            f"{str(path)!r} needs at least 2 classes in {label_column!r}. Received: {names}")
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
            (tf.constant([texts[i] for i in indices], tf.string),
             tf.constant([labels[i] for i in indices], tf.int32)))

    return take(train), take(val)


def load_text_folder(root, class_names, validation_fraction: float = 0.2):
    """`ROOT/<class>/*.txt` (or `ROOT/train` + `ROOT/val`) as `(text, label)` datasets.

    Args:
        root: str or Path. The dataset folder.
        class_names: list of str. Class subfolders, in label order.
        validation_fraction: float. Held-out share when there is no val folder.
    """
    import keras

    from zoo.data.folder import _split_dirs

    train_dir, val_dir = _split_dirs(Path(root))
    common = dict(labels="inferred", label_mode="int", class_names=list(class_names),
                  batch_size=None)
    if val_dir is not None:
        return (keras.utils.text_dataset_from_directory(train_dir, shuffle=True,
                                                        seed=_SPLIT_SEED, **common),
                keras.utils.text_dataset_from_directory(val_dir, shuffle=False, **common))
    return keras.utils.text_dataset_from_directory(
        train_dir, validation_split=validation_fraction, subset="both", seed=_SPLIT_SEED,
        **common)


def text_target(model) -> dict:
    """`{"vocabulary_size", "sequence_length", "tokenizer"}` a text model expects.

    Args:
        model: None, a registered model name, or a zoo text `keras.Model`
            (a `TextClassifier` or a keras-hub `BertTextClassifier`).
    """
    if model is None:
        return {"vocabulary_size": DEFAULT_VOCABULARY_SIZE,
                "sequence_length": DEFAULT_SEQUENCE_LENGTH, "tokenizer": "word"}
    if isinstance(model, str):
        from zoo import registry

        spec = registry.get_spec(model).input_spec()
    else:
        backbone = getattr(model, "backbone", None)
        length = getattr(backbone, "sequence_length", None) or getattr(
            backbone, "max_sequence_length", None)
        spec = {"modality": "text", "vocabulary_size": getattr(backbone, "vocabulary_size", None),
                "sequence_length": length,
                # keras-hub BERT takes token, segment and mask inputs: WordPiece packs them.
                "tokenizer": "wordpiece" if len(model.inputs) == 3 else "word"}
    if spec.get("modality") != "text" or not spec.get("vocabulary_size") or not spec.get(
            "sequence_length"):
        raise errors.InvalidArgumentError(
            f"A text dataset needs a text model (token ids in, with a vocabulary size and "
            f"sequence length). Received: model={getattr(model, 'name', model)!r}"
        )
    return {"vocabulary_size": int(spec["vocabulary_size"]),
            "sequence_length": int(spec["sequence_length"]),
            "tokenizer": spec.get("tokenizer", "word")}


def adapt_tokenizer(texts, target: dict):
    """The tokenizer `target` names, adapted on `texts`.

    Args:
        texts: tf.data.Dataset of scalar strings.
        target: dict. From `text_target`.
    """
    from zoo.data.tokenizers import TOKENIZERS

    return TOKENIZERS[target["tokenizer"]].adapt(
        texts, vocabulary_size=target["vocabulary_size"],
        sequence_length=target["sequence_length"])


def build_text_pipeline(ds, *, tokenizer, batch_size: int, training: bool,
                        seed: int | None = None, strategy=None):
    """Caches, shuffles, batches and tokenizes unbatched `(text, label)` pairs.

    Args:
        ds: tf.data.Dataset of `(scalar string, int label)`.
        tokenizer: WordTokenizer or WordPieceTokenizer. Maps a batch of
            strings to int32 ids (a dict of id tensors for BERT).
        batch_size: int. The global batch size.
        training: bool. Shuffle every epoch.
        seed: int or None. Shuffle seed.
        strategy: tf.distribute.Strategy or None. Shard by example under it.

    Returns:
        A prefetched dataset of `(int32 token ids (batch, length) or a dict of
        them, int32 labels)`.
    """
    import tensorflow as tf

    ds = ds.map(lambda text, label: (text, tf.cast(label, tf.int32)),
                num_parallel_calls=_AUTOTUNE).cache()
    from zoo.data.pipeline import finish, shuffled

    if training:
        ds = shuffled(ds, seed)
    ds = ds.batch(batch_size).map(lambda texts, labels: (tokenizer(texts), labels),
                                  num_parallel_calls=_AUTOTUNE)
    return finish(ds, strategy)


def _natural(text: str):
    return (0, int(text)) if text.lstrip("-").isdigit() else (1, text)
