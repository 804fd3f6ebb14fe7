"""Datasets paired with models: tfds sources, local folders and tables, embedded sets.

`get_dataset(name, model=...)` reads the model's input spec and returns
batched pipelines that fit it: for image models, images resized, with the
channel count converted, float32 in the raw 0..255 range the models expect;
for text models, int32 token ids of the model's sequence length from a
tokenizer adapted on the training split (or the one you pass).

Example:

>>> train, val = zoo.get_dataset("digits", model="resnet20", batch_size=64)
>>> zoo.dataset_info("cifar10").class_names[:3]
['airplane', 'automobile', 'bird']
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zoo import errors, validation
from zoo.data.catalog import SOURCES, DatasetSource
from zoo.data import tokenizers  # noqa: F401  (light: imports TensorFlow only when used)
from zoo.data.image import AUGMENTATIONS

__all__ = ["AUGMENTATIONS", "DatasetInfo", "dataset_info", "get_dataset", "get_tokenizer",
           "list_datasets", "text_examples"]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset holds, without reading its examples.

    Args:
        name: str. The dataset name or folder path.
        source: str. `"tfds"`, `"embedded"` (tfds builder over data zoo
            makes or ships), `"folder"` or `"table"` (CSV/TSV).
        class_names: tuple of str. Label `i` is `class_names[i]`.
        image_shape: tuple or None. Native `(H, W, C)`; None when it varies.
        augmentation: str. Default augmentation policy when `augment=True`.
        description: str. One line.
        modality: str. `"image"` or `"text"`.
        sequence_length: int or None. Text: a length covering the examples.
    """

    name: str
    source: str
    class_names: tuple
    image_shape: tuple | None
    augmentation: str
    description: str = ""
    modality: str = "image"
    sequence_length: int | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def list_datasets(modality: str | None = None) -> list[str]:
    """Names `get_dataset` accepts (folder and CSV/TSV paths are accepted too).

    Args:
        modality: str or None. Keep `"image"` or `"text"` datasets only.

    Example:

    >>> zoo.list_datasets("image")
    ['cifar10', 'cifar100', 'digits', 'fashion_mnist', 'imagenet2012', 'mnist']
    """
    return sorted(n for n, s in SOURCES.items() if modality in (None, s.modality))


def dataset_info(name, *, data_dir=None, text_column: str = "text",
                 label_column: str = "label") -> DatasetInfo:
    """Describes a dataset (classes, native shape) without preparing it.

    Args:
        name: str or Path. A name from `list_datasets()`, a folder of class
            subfolders, or a `.csv`/`.tsv` file.
        data_dir: str or None. tfds data directory.
        text_column: str. Text column of a table file.
        label_column: str. Label column of a table file.

    Example:

    >>> zoo.dataset_info("digits").num_classes
    10
    """
    from zoo.data import folder, text

    if text.is_table_file(name):
        _, _, names = text.read_table(name, text_column=text_column, label_column=label_column)
        return DatasetInfo(str(name), "table", tuple(names), None, "none",
                           f"texts and labels of {str(name)!r}", modality="text")
    if folder.is_folder_dataset(name):
        modality = "text" if text.is_text_folder(name) else "image"
        return DatasetInfo(str(name), "folder", tuple(folder.class_names(name)), None, "none",
                           f"{modality} files in class subfolders of {str(name)!r}",
                           modality=modality)
    source = _source(name)
    from zoo.data.tfds_source import get_builder

    names = get_builder(source, data_dir).info.features[source.label_key].names
    return DatasetInfo(source.name, "embedded" if source.embedded else "tfds", tuple(names),
                       source.image_shape, source.augmentation, source.description,
                       modality=source.modality, sequence_length=source.sequence_length)


def get_tokenizer(name, *, model=None, data_dir=None, **table_columns):
    """The model's tokenizer (word or WordPiece) adapted on a training split.

    Args:
        name: str or Path. A text dataset (see `get_dataset`).
        model: None, a registered text model name or a zoo text model: gives
            the vocabulary size and sequence length.
        data_dir: str or None. tfds data directory.
        **table_columns: `text_column=` / `label_column=` for CSV/TSV files.

    Example:

    >>> tokenizer = zoo.data.get_tokenizer("sentiment", model="lstm")
    >>> tokenizer.save("runs/lstm/tokenizer")
    """
    from zoo.data import text

    train, _ = _text_splits(name, data_dir, table_columns)
    return text.adapt_tokenizer(train.map(lambda t, _: t), text.text_target(model))


def text_examples(name, count: int, *, data_dir=None, **table_columns) -> list[str]:
    """The first `count` raw texts of a text dataset's validation split.

    Args:
        name: str or Path. A text dataset.
        count: int. How many texts.
        data_dir: str or None. tfds data directory.
        **table_columns: `text_column=` / `label_column=` for CSV/TSV files.

    Example:

    >>> zoo.data.text_examples("sentiment", 2)
    ['the plot was not dull , it was clever', ...]
    """
    count = validation.check_positive_int("count", count)
    _, val = _text_splits(name, data_dir, table_columns)
    return [t.decode("utf-8") for t, _ in val.take(count).as_numpy_iterator()]


def get_dataset(name, *, model=None, batch_size: int = 64, data_dir=None, augment=True,
                strategy=None, seed: int | None = None, tokenizer=None, **table_columns):
    """Training and validation pipelines for a dataset, fitted to a model.

    Args:
        name: str or Path. A name from `list_datasets()`, a folder of class
            subfolders (`ROOT/<class>/*.jpg|*.txt`, or `ROOT/train/` +
            `ROOT/val/`), or a `.csv`/`.tsv` file of texts and labels.
        model: None, a registered model name, or a `keras.Model`: images are
            resized and their channels converted to its input shape; texts
            are tokenized to its vocabulary size and sequence length.
        batch_size: int. The global batch size (split across replicas).
        data_dir: str or None. tfds data directory (tfds' default if None).
        augment: bool or str. Images: True for the dataset's default
            augmentation, False for none, or a policy from `AUGMENTATIONS`.
        strategy: tf.distribute.Strategy or None. Checks that the batch splits
            evenly over its replicas and shards by example.
        seed: int or None. Shuffle seed.
        tokenizer: WordTokenizer or None. Text: reuse this tokenizer; None
            adapts one on the training split (`get_tokenizer`).
        **table_columns: `text_column=` / `label_column=` for CSV/TSV files.

    Returns:
        `(train, val)`: batched, prefetched `tf.data.Dataset`s of
        `(float32 images in [0, 255], int32 labels)` or `(int32 token ids,
        int32 labels)`, with known length.

    Raises:
        UnknownDatasetError: unknown name (close matches are listed).
        DatasetNotAvailableError: not prepared and cannot be downloaded here.
        InvalidArgumentError: bad batch size, augmentation, model or table.

    Example:

    >>> train, val = zoo.get_dataset("cifar10", model="resnet20", batch_size=128)
    >>> images, labels = next(iter(train))
    """
    from zoo.data import folder, image, pipeline, text

    batch_size = validation.check_positive_int("batch_size", batch_size)
    if strategy is not None:
        from zoo import distribute

        distribute.per_replica_batch_size(batch_size, strategy)
    info = dataset_info(name, data_dir=data_dir, **table_columns)
    _check_model_outputs(model, info)
    if info.modality == "text":
        target = text.text_target(model)
        train, val = _text_splits(name, data_dir, table_columns)
        if tokenizer is None:
            tokenizer = text.adapt_tokenizer(train.map(lambda t, _: t), target)
        elif tokenizer.vocabulary_size > target["vocabulary_size"]:
            raise errors.InvalidArgumentError(
                f"The tokenizer has {tokenizer.vocabulary_size} tokens but the model embeds "
                f"only {target['vocabulary_size']}. Received: tokenizer with "
                f"vocabulary_size={tokenizer.vocabulary_size}"
            )
        elif tokenizer.sequence_length > target["sequence_length"]:
            raise errors.InvalidArgumentError(
                f"The tokenizer makes sequences of {tokenizer.sequence_length} ids but the "
                f"model reads at most {target['sequence_length']}. Received: tokenizer with "
                f"sequence_length={tokenizer.sequence_length}; use a tokenizer of "
                f"sequence_length <= {target['sequence_length']}"
            )
        common = dict(tokenizer=tokenizer, batch_size=batch_size, strategy=strategy)
        return (text.build_text_pipeline(train, training=True, seed=seed, **common),
                text.build_text_pipeline(val, training=False, **common))

    shape = image.target_shape(model)
    policy = _augmentation(augment, info.augmentation)
    if info.source == "folder":
        train, val = folder.load_folder(name, shape)
        cache = True  # decoded at the model's size: small enough for most folders
    else:
        from zoo.data.tfds_source import load_splits

        source = SOURCES[info.name]
        _, train, val = load_splits(source, data_dir)
        cache = source.cache
    common = dict(shape=shape, batch_size=batch_size, cache=cache, strategy=strategy)
    return (pipeline.build_pipeline(train, training=True, augmentation=policy, seed=seed,
                                    **common),
            pipeline.build_pipeline(val, training=False, **common))


def _text_splits(name, data_dir, table_columns):
    """Unbatched `(text, label)` train and validation datasets of any text source."""
    from zoo.data import folder, text

    if text.is_table_file(name):
        return text.load_table(name, **table_columns)
    if folder.is_folder_dataset(name):
        return text.load_text_folder(name, folder.class_names(name))
    source = _source(name)
    if source.modality != "text":
        raise errors.InvalidArgumentError(
            f"Dataset {source.name!r} holds images, not text. Text datasets: "
            f"{list_datasets('text')}. Received: {source.name!r}"
        )
    from zoo.data.tfds_source import load_splits

    _, train, val = load_splits(source, data_dir)
    return train, val


def _source(name) -> DatasetSource:
    if isinstance(name, str) and name in SOURCES:
        return SOURCES[name]
    if isinstance(name, (str, Path)) and ("/" in str(name) or "\\" in str(name)
                                          or Path(str(name)).suffix in (".csv", ".tsv")):
        raise errors.DatasetNotAvailableError(
            f"Dataset path {str(name)!r} does not exist. Pass an existing folder of class "
            f"subfolders, a .csv/.tsv file, or one of {list_datasets()}."
        )
    raise errors.UnknownDatasetError(name, list_datasets())


def _augmentation(augment, default: str) -> str:
    if augment is True:
        return default
    if augment is False or augment is None:
        return "none"
    if isinstance(augment, str) and augment in AUGMENTATIONS:
        return augment
    raise errors.InvalidArgumentError(
        f"augment must be True, False or one of {sorted(AUGMENTATIONS)}. "
        f"Received: augment={augment!r}"
    )


def _check_model_outputs(model, info: DatasetInfo) -> None:
    """Labels beyond the model's outputs would silently train on garbage."""
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return
    width = outputs[0].shape[-1]
    if width is not None and width < info.num_classes:
        raise errors.InvalidArgumentError(
            f"The model has {width} outputs but dataset {info.name!r} has "
            f"{info.num_classes} classes; build it with num_classes={info.num_classes}. "
            f"Received: model with {width} outputs"
        )
