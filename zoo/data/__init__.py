"""Datasets paired with models: tfds sources, local folders and tables, embedded sets.

`get_dataset(name, model=...)` reads the model's input spec and returns
batched pipelines that fit it: for image models, images resized, with the
channel count converted, float32 in the raw 0..255 range the models expect;
for text models, int32 token ids of the model's sequence length from a
tokenizer adapted on the training split (or the one you pass); for audio
models, float32 mono waveforms in [-1, 1] resampled to the model's sample
rate and padded or cut to its clip length.

Example:

>>> train, val = zoo.get_dataset("digits", model="resnet20", batch_size=64)
>>> zoo.dataset_info("cifar10").class_names[:3]
['airplane', 'automobile', 'bird']
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
from pathlib import Path

from zoo import distribute, errors, factory, inputs, pretrained, validation
from zoo.data import (
    folder,
    text,
    tokenizers,  # noqa: F401  (light: imports TensorFlow only when used)
)
from zoo.data.catalog import SOURCES, get_source
from zoo.data.image import AUGMENTATIONS
from zoo.data.pipeline import EpochStream, as_arrays
from zoo.data.tfds_source import get_builder

__all__ = [
    "AUGMENTATIONS",
    "as_arrays",
    "DatasetInfo",
    "EpochStream",
    "dataset_info",
    "get_dataset",
    "get_tokenizer",
    "pretrained_tokenizer",
    "list_datasets",
    "text_examples",
]


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
        modality: str. The kind of input it holds: a key of
            `zoo.inputs.KINDS` (`"image"`, `"text"`, `"audio"`).
        sequence_length: int or None. Text: a length covering the examples.
        sample_rate: int or None. Audio: samples per second (a folder: the
            rate most of its files have).
        channels: int or None. Images: the channels a named dataset's images
            hold, whatever the model they are fitted to takes (a folder:
            None; `zoo.data.folder.image_channels` reads its files).
    """

    name: str
    source: str
    class_names: tuple
    image_shape: tuple | None
    augmentation: str
    description: str = ""
    modality: str = "image"
    sequence_length: int | None = None
    sample_rate: int | None = None
    channels: int | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def list_datasets(modality: str | None = None) -> list[str]:
    """Names `get_dataset` accepts (folder and CSV/TSV paths are accepted too).

    Args:
        modality: str or None. Keep datasets of this kind only (`"image"`,
            `"text"`, `"audio"`).

    Example:

    >>> zoo.list_datasets("image")
    ['cifar10', 'cifar100', 'digits', 'fashion_mnist', 'imagenet2012', 'mnist']
    >>> "speech_commands" in zoo.list_datasets("audio")
    True
    """
    return sorted(n for n, s in SOURCES.items() if modality in (None, s.modality))


def dataset_info(
    name, *, data_dir=None, text_column: str = "text", label_column: str = "label"
) -> DatasetInfo:
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
    validation.check_path("data_dir", data_dir)
    if text.is_table_file(name):
        _, _, names = text.read_table(name, text_column=text_column, label_column=label_column)
        return DatasetInfo(
            str(name),
            "table",
            tuple(names),
            None,
            "none",
            f"texts and labels of {str(name)!r}",
            modality="text",
        )
    if folder.is_folder_dataset(name):
        modality = folder.folder_kind(name)
        return DatasetInfo(
            str(name),
            "folder",
            tuple(folder.class_names(name)),
            None,
            "none",
            f"{modality} files in class subfolders of {str(name)!r}",
            modality=modality,
            **_folder_fields(modality, name),
        )
    source = get_source(name)
    names = get_builder(source, data_dir).info.features[source.label_key].names
    return DatasetInfo(
        source.name,
        "embedded" if source.embedded else "tfds",
        tuple(names),
        source.image_shape,
        source.augmentation,
        source.description,
        modality=source.modality,
        sequence_length=source.sequence_length,
        sample_rate=source.sample_rate,
        channels=source.image_shape[-1] if source.image_shape else None,
    )


def recorded_name(name) -> str:
    """How a run records a dataset: a folder, CSV/TSV or `.txt` file by its absolute path.

    A run is evaluated, exported and resumed from any working directory, so
    `photos/` must not be read against the directory of a later call. Named
    datasets are kept as they are.

    Args:
        name: str or Path. A dataset name, folder or table file.

    Example:

    >>> recorded_name("digits")
    'digits'
    >>> recorded_name("photos/")      # run from /home/me
    '/home/me/photos'
    """
    corpus = text.is_text_file(name) and Path(name).is_file()  # of masked-LM pretraining
    if folder.is_folder_dataset(name) or text.is_table_file(name) or corpus:
        return str(Path(name).resolve())
    return str(name)


def recorded_dir(data_dir) -> str | None:
    """How a run records a tfds data directory: a local one by its absolute path.

    Args:
        data_dir: str, Path or None. A local directory, or a remote one
            (`gs://bucket/tfds`), which is kept as given.

    Example:

    >>> recorded_dir("tfds")          # run from /home/me
    '/home/me/tfds'
    """
    if data_dir is None:
        return None
    if "://" in str(data_dir):
        return str(data_dir)
    return os.path.abspath(os.path.expanduser(str(data_dir)))


def shared_name(recorded: str) -> str:
    """A recorded dataset as it appears in files for other people: a path by its last part.

    An export's `metadata.json` (shipped with the model) names `photos`, not
    the path of one machine's home directory.

    Args:
        recorded: str. A dataset as a run records it (`recorded_name`).

    Example:

    >>> shared_name("/home/me/photos")
    'photos'
    """
    return Path(recorded).name if os.path.isabs(recorded) else recorded


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
    _check_table_columns(name, table_columns)
    train, _ = text.text_splits(name, data_dir, table_columns)
    spec = _model_input(model, "text", name) or text.default_input()
    return text.adapt_tokenizer(train.map(lambda t, _: t), spec)


def unknown_token_share(name, tokenizer, *, data_dir=None, limit: int = 10000, **table_columns):
    """The share of `[UNK]` among the tokens a tokenizer makes of a dataset's training texts.

    What a vocabulary made elsewhere (shipped weights, a teacher, a preset)
    loses on this data: every unknown word reaches the model as one `[UNK]`.

    Args:
        name: str or Path. A text dataset (see `get_dataset`).
        tokenizer: WordTokenizer or WordPieceTokenizer.
        data_dir: str or None. tfds data directory.
        limit: int. Read at most this many training texts.
        **table_columns: `text_column=` / `label_column=` for CSV/TSV files.

    Example:

    >>> tokenizer = zoo.pretrained_tokenizer("lstm", "sentiment")
    >>> zoo.data.unknown_token_share("reviews.csv", tokenizer, text_column="review")
    """
    _check_table_columns(name, table_columns)
    limit = validation.check_positive_int("limit", limit)
    train, _ = text.text_splits(name, data_dir, table_columns)
    texts = next(iter(train.map(lambda t, _: t).take(limit).batch(limit)), None)
    return 0.0 if texts is None else tokenizer.unknown_share(texts)


def pretrained_tokenizer(model: str, weights: str):
    """The tokenizer a text model's shipped weights were trained with.

    Token ids only mean something with the vocabulary they were trained on, so
    text weights ship their tokenizer; its files are checked against the
    manifest's sha256 before loading.

    Args:
        model: str. A registered text model, e.g. `"lstm"`.
        weights: str. A tag of that model (`"sentiment"` or `"lstm.sentiment"`).

    Example:

    >>> tokenizer = zoo.pretrained_tokenizer("lstm", "sentiment")
    >>> model = zoo.get_model("lstm", weights="sentiment")
    >>> model(tokenizer(["the plot was clever"]))
    """
    entry = pretrained.resolve(model, weights)
    return tokenizers.load_tokenizer(pretrained.tokenizer_dir(entry))


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
    _check_table_columns(name, table_columns)
    _, val = text.text_splits(name, data_dir, table_columns)
    return [t.decode("utf-8") for t, _ in val.take(count).as_numpy_iterator()]


def get_dataset(
    name,
    *,
    model=None,
    batch_size: int = 64,
    data_dir=None,
    augment=True,
    strategy=None,
    seed: int | None = None,
    tokenizer=None,
    stream=None,
    **table_columns,
):
    """Training and validation pipelines for a dataset, fitted to a model.

    Args:
        name: str or Path. A name from `list_datasets()`, a folder of class
            subfolders (`ROOT/<class>/*.jpg|*.txt|*.wav`, or `ROOT/train/` +
            `ROOT/val/`), or a `.csv`/`.tsv` file of texts and labels.
        model: None, a registered model name, or a `keras.Model`: images are
            resized and their channels converted to its input shape; texts
            are tokenized to its vocabulary size and sequence length; audio
            is resampled to its sample rate and padded or cut to its clip
            length (no model: the data's own rate, 1 s clips).
        batch_size: int. The global batch size (split across replicas).
        data_dir: str or None. tfds data directory (tfds' default if None).
        augment: bool or str. Images: True for the dataset's default
            augmentation, False for none, or a policy from `AUGMENTATIONS`.
            Text and audio pipelines do not augment (audio models augment
            inside the graph, in training only).
        strategy: tf.distribute.Strategy or None. Checks that the batch splits
            evenly over its replicas and shards by example.
        seed: int or None. Shuffle seed.
        tokenizer: WordTokenizer or None. Text: reuse this tokenizer; None
            adapts one on the training split (`get_tokenizer`).
        stream: EpochStream or None. Make the training dataset several
            epochs in one, each ordered by (seed, epoch), optionally starting
            part-way into the first: what an exactly resumable run needs.
            Needs `seed`. None: one epoch, reshuffled each iteration.
        **table_columns: `text_column=` / `label_column=` for CSV/TSV files.

    Returns:
        `(train, val)`: batched, prefetched `tf.data.Dataset`s of
        `(float32 images in [0, 255], int32 labels)`, `(int32 token ids,
        int32 labels)` or `(float32 waveforms (batch, samples) in [-1, 1],
        int32 labels)`, with known length.

    Raises:
        UnknownDatasetError: unknown name (close matches are listed).
        DatasetNotAvailableError: not prepared and cannot be downloaded here.
        InvalidArgumentError: bad batch size, augmentation, model or table.
        AudioFileError: a WAV file of a folder is empty, truncated or corrupt.

    Example:

    >>> train, val = zoo.get_dataset("cifar10", model="resnet20", batch_size=128)
    >>> images, labels = next(iter(train))
    """
    batch_size = validation.check_positive_int("batch_size", batch_size)
    if seed is not None:
        validation.check_positive_int("seed", seed, minimum=0)
    if strategy is not None:
        distribute.per_replica_batch_size(batch_size, strategy)
    _check_table_columns(name, table_columns)
    info = dataset_info(name, data_dir=data_dir, **table_columns)
    _check_model_outputs(model, info)
    spec = _model_input(model, info.modality, info.name)
    # The input kind names the module that builds its pipelines.
    pipeline = inputs.KINDS[info.modality].pipeline
    if importlib.util.find_spec(pipeline) is None:
        served = [k for k, cls in inputs.KINDS.items() if importlib.util.find_spec(cls.pipeline)]
        raise errors.DatasetNotAvailableError(
            f"Dataset {info.name!r} holds {info.modality} data, and this version of zoo has "
            f"no {info.modality} pipeline ({pipeline}). Received: {info.name!r}; accepted: "
            f"datasets of the kinds {served}."
        )
    module = importlib.import_module(pipeline)
    return module.make_pipelines(
        name,
        info,
        spec,
        batch_size=batch_size,
        data_dir=data_dir,
        augment=augment,
        strategy=strategy,
        seed=seed,
        stream=stream,
        tokenizer=tokenizer,
        table_columns=table_columns,
    )


def _check_table_columns(name, table_columns: dict) -> None:
    """`text_column=` / `label_column=` are the only extra keywords, and only for tables.

    A misspelt keyword would otherwise be a bare `TypeError`, and a column
    given for a dataset that has no columns would be silently ignored.
    """
    accepted = ("text_column", "label_column")
    unknown = sorted(set(table_columns) - set(accepted))
    if unknown:
        raise errors.InvalidArgumentError(
            f"Unknown keyword(s) {unknown} for dataset {str(name)!r}. Accepted: model, "
            f"batch_size, data_dir, augment, strategy, seed, tokenizer, stream, and for a CSV/TSV "
            f"file {', '.join(accepted)}. Received: "
            + ", ".join(f"{k}={table_columns[k]!r}" for k in unknown)
        )
    for key, value in table_columns.items():
        if not isinstance(value, str) or not value:
            raise errors.InvalidArgumentError(
                f"{key} must be a non-empty column name. Received: {key}={value!r}."
            )
    if table_columns and not text.is_table_file(name):
        raise errors.InvalidArgumentError(
            f"{', '.join(sorted(table_columns))} name columns of a .csv/.tsv file, but "
            f"dataset {str(name)!r} is not one. Received: "
            + ", ".join(f"{k}={v!r}" for k, v in sorted(table_columns.items()))
            + "; accepted: these keywords with a .csv/.tsv file only."
        )


def _folder_fields(modality: str, root) -> dict:
    """`DatasetInfo` fields that the kind's pipeline module reads from a folder.

    A pipeline module may define `folder_fields(root)` (audio: the sample
    rate); a kind without a pipeline module adds nothing here and is refused
    by `get_dataset`.
    """
    pipeline = inputs.KINDS[modality].pipeline
    if importlib.util.find_spec(pipeline) is None:
        return {}
    reader = getattr(importlib.import_module(pipeline), "folder_fields", None)
    return reader(root) if reader is not None else {}


def _model_input(model, kind: str, dataset):
    """The input spec of `model` (None for no model), which must be of `kind`."""
    if model is None:
        return None
    spec = factory.input_of(model)
    if spec.kind != kind:
        raise errors.InvalidArgumentError(
            f"Dataset {str(dataset)!r} holds {kind} data but model "
            f"{getattr(model, 'name', model)!r} takes {spec.kind} inputs; pick a model of "
            f"the dataset's kind (zoo.list_models()). Received: model="
            f"{getattr(model, 'name', model)!r}"
        )
    return spec


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
