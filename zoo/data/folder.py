"""A local folder of class subfolders as a dataset.

Either `root/<class>/*.jpg` (split 80/20 here, with a fixed seed) or
`root/train/<class>/...` plus `root/val/<class>/...` (also `validation/`,
`test/`). Images are read through `keras.utils.image_dataset_from_directory`;
`split_files` lists the files of other kinds (WAV clips) for their own reader.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from zoo import errors
from zoo.data import files as data_files
from zoo.inputs import KINDS

_VAL_DIRS = ("val", "validation", "test")
_SPLIT_SEED = 1337
_COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


def is_folder_dataset(name) -> bool:
    """Whether `name` is a path to an existing directory.

    `""` is not: `Path("")` is the current directory, which a user who passes
    an empty name did not mean.
    """
    return isinstance(name, (str, Path)) and str(name) != "" and Path(name).is_dir()


def folder_kind(root) -> str:
    """The kind of input (a key of `zoo.inputs.KINDS`) a class-subfolder dataset holds.

    The first file whose ending an input kind claims (`InputSpec.folder_suffixes`)
    decides; a folder with none of them is read as images, whose loader then
    names what it found.

    Args:
        root: str or Path. The dataset folder.
    """
    by_suffix = {s: kind for kind, cls in KINDS.items() for s in cls.folder_suffixes}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            kind = by_suffix.get(path.suffix.lower())
            if kind is not None:
                return kind
    return "image"


def class_names(root) -> list[str]:
    """Class names of a folder dataset, in the order labels are numbered.

    Args:
        root: str or Path. The dataset folder.
    """
    train_dir, _ = _split_dirs(Path(root))
    names = sorted(p.name for p in train_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(names) < 2:
        # Name the files of the kind this folder holds (a WAV folder is not told "images").
        kind = folder_kind(root)
        endings = "|".join(f"*{s}" for s in KINDS[kind].folder_suffixes)
        raise errors.InvalidArgumentError(
            f"A folder dataset needs at least 2 class subfolders; {str(train_dir)!r} has "
            f"{len(names)} ({names}). Layout: ROOT/<class>/{endings} ({kind} files). "
            f"Received: dataset={str(root)!r}"
        )
    return names


def load_folder(root, shape=None, validation_fraction: float = 0.2):
    """Reads a folder dataset as unbatched `(float32 image, int32 label)` pairs.

    Args:
        root: str or Path. The dataset folder.
        shape: `(height, width, channels)` or None (256x256 RGB).
        validation_fraction: float. Held-out share when there is no val folder.

    Returns:
        `(train, val)` unbatched datasets of float32 images in [0, 255].

    Example:

    >>> train, val = load_folder("photos/", shape=(64, 64, 3))
    """
    import keras

    root = Path(root)
    names = class_names(root)
    height, width, channels = shape or (256, 256, 3)
    common = dict(
        labels="inferred",
        label_mode="int",
        class_names=names,
        batch_size=None,
        image_size=(height or 256, width or 256),
        color_mode=_COLOR_MODES.get(channels or 3, "rgb"),
    )
    train_dir, val_dir = _split_dirs(root)
    for directory in (train_dir, val_dir):
        if directory is not None:
            # Keras decodes lazily, inside model.fit: check the files now, by name.
            for class_files in _files_by_class(directory, names, data_files.IMAGE_SUFFIXES):
                data_files.check_image_files(class_files)
    try:
        if val_dir is not None:
            train = keras.utils.image_dataset_from_directory(
                train_dir, shuffle=True, seed=_SPLIT_SEED, **common
            )
            val = keras.utils.image_dataset_from_directory(val_dir, shuffle=False, **common)
        else:
            train, val = keras.utils.image_dataset_from_directory(
                train_dir,
                validation_split=validation_fraction,
                subset="both",
                shuffle=True,
                seed=_SPLIT_SEED,
                **common,
            )
    except ValueError as err:  # no images, or a class missing from a split
        raise errors.InvalidArgumentError(
            f"Cannot read folder dataset {str(root)!r}: {err}. Accepted: class subfolders "
            f"holding .jpg, .jpeg, .png, .bmp or .gif images."
        ) from err
    return train, val


def image_channels(root, limit: int = 32) -> int | None:
    """The most channels among a few images of a folder: the first of each class.

    Read before training, so a run can say when its model's input drops what
    the images hold (colour photos into a 1-channel model). At most `limit`
    images are decoded, one per class (then a second per class, ...), so a
    folder of 1,000 classes costs as much as one of 32. A file TensorFlow
    cannot decode is skipped here; the loader names it later.

    Args:
        root: str or Path. The dataset folder.
        limit: int. Images decoded at most.

    Returns:
        int or None: 1 (grayscale), 2 (grayscale + alpha), 3 (RGB) or 4
        (RGBA); None when no image could be decoded.

    Example:

    >>> image_channels("photos/")
    3
    """
    import tensorflow as tf

    root = Path(root)
    train_dir, _ = _split_dirs(root)
    by_class = _files_by_class(train_dir, class_names(root), data_files.IMAGE_SUFFIXES)
    # Round-robin over the classes: the first image of each, then the second, ...
    rounds = itertools.zip_longest(*by_class)
    paths = [path for row in rounds for path in row if path is not None][:limit]
    found = None
    for path in paths:
        try:
            image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        except (tf.errors.OpError, ValueError):
            continue
        found = max(found or 0, int(image.shape[-1]))
    return found


def split_files(root, suffixes, validation_fraction: float = 0.2):
    """The files of a folder dataset with their labels, split into train and validation.

    Without a val folder each class is split on its own (stratified), with a
    fixed seed, so every class keeps its share in both splits.

    Args:
        root: str or Path. The dataset folder.
        suffixes: tuple of str. File endings to take (lower case), e.g. `(".wav",)`.
        validation_fraction: float. Held-out share when there is no val folder.

    Returns:
        `(train, val)`: lists of `(path str, int label)`, in a fixed order.

    Raises:
        InvalidArgumentError: a class of the training folder has no such
            files, or the val folder has a class the training folder lacks.

    Example:

    >>> train, val = split_files("clips/", (".wav",))
    >>> train[0]
    ('clips/no/0.wav', 0)
    """
    import numpy as np

    root = Path(root)
    names = class_names(root)
    train_dir, val_dir = _split_dirs(root)
    train = _files_by_class(train_dir, names, suffixes)
    empty = [name for name, files in zip(names, train) if not files]
    if empty:
        raise errors.InvalidArgumentError(
            f"Cannot read folder dataset {str(root)!r}: the classes {empty} in "
            f"{str(train_dir)!r} hold no {'/'.join(suffixes)} files. Accepted: class "
            f"subfolders holding {'/'.join(suffixes)} files. Received: dataset={str(root)!r}"
        )
    if val_dir is not None:
        extra = sorted(p.name for p in val_dir.iterdir() if p.is_dir() and p.name not in set(names))
        if extra:
            raise errors.InvalidArgumentError(
                f"Validation folder {str(val_dir)!r} has classes {extra} that "
                f"{str(train_dir)!r} lacks; accepted: the training classes {names}. "
                f"Received: dataset={str(root)!r}"
            )
        val = _files_by_class(val_dir, names, suffixes)
        return _pairs(train), _pairs(val)
    rng = np.random.default_rng(_SPLIT_SEED)
    kept, held = [], []
    for files in train:
        files = [files[i] for i in rng.permutation(len(files))]
        count = int(round(len(files) * validation_fraction))
        if len(files) > 1:  # one file per class or more on each side
            count = min(max(count, 1), len(files) - 1)
        held.append(sorted(files[:count]))
        kept.append(sorted(files[count:]))
    return _pairs(kept), _pairs(held)


def _files_by_class(directory: Path, names, suffixes) -> list[list[str]]:
    """Per class (in label order), its files with one of `suffixes`, sorted."""
    found = []
    for name in names:
        class_dir = directory / name
        files = class_dir.rglob("*") if class_dir.is_dir() else ()
        found.append(
            sorted(
                str(p)
                for p in files
                if p.suffix.lower() in suffixes and p.is_file() and not p.name.startswith(".")
            )
        )
    return found


def _pairs(files_by_class) -> list[tuple[str, int]]:
    return [(path, label) for label, files in enumerate(files_by_class) for path in files]


def _split_dirs(root: Path):
    """`(train_dir, val_dir or None)`; None means split train_dir here."""
    if not (root / "train").is_dir():
        return root, None
    for name in _VAL_DIRS:
        if (root / name).is_dir():
            return root / "train", root / name
    return root / "train", None
