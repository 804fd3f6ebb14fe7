"""A local folder of class subfolders as a dataset.

Either `root/<class>/*.jpg` (split 80/20 here, with a fixed seed) or
`root/train/<class>/...` plus `root/val/<class>/...` (also `validation/`,
`test/`). Reading goes through `keras.utils.image_dataset_from_directory`.
"""

from __future__ import annotations

from pathlib import Path

from zoo import errors
from zoo.inputs import KINDS

_VAL_DIRS = ("val", "validation", "test")
_SPLIT_SEED = 1337
_COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


def is_folder_dataset(name) -> bool:
    """Whether `name` is a path to an existing directory."""
    return isinstance(name, (str, Path)) and Path(name).is_dir()


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
        raise errors.InvalidArgumentError(
            f"A folder dataset needs at least 2 class subfolders; {str(train_dir)!r} has "
            f"{len(names)} ({names}). Layout: ROOT/<class>/<image files>. "
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


def _split_dirs(root: Path):
    """`(train_dir, val_dir or None)`; None means split train_dir here."""
    if not (root / "train").is_dir():
        return root, None
    for name in _VAL_DIRS:
        if (root / name).is_dir():
            return root / "train", root / name
    return root / "train", None
