"""Datasets paired with models: tfds sources, local folders, embedded `digits`.

`get_dataset(name, model=...)` reads the model's input spec and returns
batched `(images, labels)` pipelines that fit it: resized, with the channel
count converted, float32 in the raw 0..255 range the models expect.

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
from zoo.data.image import AUGMENTATIONS

__all__ = ["AUGMENTATIONS", "DatasetInfo", "dataset_info", "get_dataset", "list_datasets"]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset holds, without reading its examples.

    Args:
        name: str. The dataset name or folder path.
        source: str. `"tfds"`, `"embedded"` (tfds builder over packaged data)
            or `"folder"`.
        class_names: tuple of str. Label `i` is `class_names[i]`.
        image_shape: tuple or None. Native `(H, W, C)`; None when it varies.
        augmentation: str. Default augmentation policy when `augment=True`.
        description: str. One line.
    """

    name: str
    source: str
    class_names: tuple
    image_shape: tuple | None
    augmentation: str
    description: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def list_datasets() -> list[str]:
    """Names `get_dataset` accepts (a folder path is accepted too).

    Example:

    >>> zoo.list_datasets()
    ['cifar10', 'cifar100', 'digits', 'fashion_mnist', 'imagenet2012', 'mnist']
    """
    return sorted(SOURCES)


def dataset_info(name, *, data_dir=None) -> DatasetInfo:
    """Describes a dataset (classes, native shape) without preparing it.

    Args:
        name: str or Path. A name from `list_datasets()` or a folder of class
            subfolders.
        data_dir: str or None. tfds data directory.

    Example:

    >>> zoo.dataset_info("digits").num_classes
    10
    """
    from zoo.data import folder

    if folder.is_folder_dataset(name):
        return DatasetInfo(str(name), "folder", tuple(folder.class_names(name)), None, "none",
                           f"images in class subfolders of {str(name)!r}")
    source = _source(name)
    from zoo.data.tfds_source import get_builder

    names = get_builder(source, data_dir).info.features["label"].names
    return DatasetInfo(source.name, "embedded" if source.embedded else "tfds", tuple(names),
                       source.image_shape, source.augmentation, source.description)


def get_dataset(name, *, model=None, batch_size: int = 64, data_dir=None, augment=True,
                strategy=None, seed: int | None = None):
    """Training and validation pipelines for a dataset, fitted to a model.

    Args:
        name: str or Path. A name from `list_datasets()` or a folder of class
            subfolders (`ROOT/<class>/*.jpg`, or `ROOT/train/` + `ROOT/val/`).
        model: None, a registered model name, or a `keras.Model`: images are
            resized and their channels converted to its input shape.
        batch_size: int. The global batch size (split across replicas).
        data_dir: str or None. tfds data directory (tfds' default if None).
        augment: bool or str. True for the dataset's default augmentation,
            False for none, or a policy name from `AUGMENTATIONS`.
        strategy: tf.distribute.Strategy or None. Checks that the batch splits
            evenly over its replicas and shards by example.
        seed: int or None. Shuffle seed.

    Returns:
        `(train, val)`: batched, prefetched `tf.data.Dataset`s of
        `(float32 images in [0, 255], int32 labels)` with known length.

    Raises:
        UnknownDatasetError: unknown name (close matches are listed).
        DatasetNotAvailableError: not prepared and cannot be downloaded here.
        InvalidArgumentError: bad batch size, augmentation or model.

    Example:

    >>> train, val = zoo.get_dataset("cifar10", model="resnet20", batch_size=128)
    >>> images, labels = next(iter(train))
    """
    from zoo.data import folder, image, pipeline

    batch_size = validation.check_positive_int("batch_size", batch_size)
    if strategy is not None:
        from zoo import distribute

        distribute.per_replica_batch_size(batch_size, strategy)
    shape = image.target_shape(model)
    info = dataset_info(name, data_dir=data_dir)
    policy = _augmentation(augment, info.augmentation)
    _check_model_outputs(model, info)

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


def _source(name) -> DatasetSource:
    if isinstance(name, str) and name in SOURCES:
        return SOURCES[name]
    if isinstance(name, (str, Path)) and ("/" in str(name) or "\\" in str(name)):
        raise errors.DatasetNotAvailableError(
            f"Folder dataset {str(name)!r} does not exist. Pass an existing folder of class "
            f"subfolders or one of {list_datasets()}."
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
