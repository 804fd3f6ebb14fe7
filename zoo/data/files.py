"""Checks that the files of a local dataset are complete before TensorFlow reads them.

Keras' directory loaders decode lazily, inside `tf.data`: an empty, truncated
or mislabelled image, or a text file that is not UTF-8, surfaces later as a
raw TensorFlow error from deep inside `model.fit`, naming no file. These
checks run when the pipeline is built and name the file instead. They read
only a few bytes at each end of an image (its signature and end marker), so
a folder of thousands of images is checked in well under a second; decoding
every image up front would double the cost of the first epoch.

Example:

>>> check_image_files(["photos/cat/1.png", "photos/dog/2.jpg"])
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from zoo import errors

# Leading bytes of each format Keras' image loader reads, by file ending.
_SIGNATURES = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".bmp": (b"BM",),
}
IMAGE_SUFFIXES = tuple(_SIGNATURES)
# A complete PNG ends with its IEND chunk; a complete JPEG holds its end-of-image
# marker near the end (some cameras append a few bytes after it). TensorFlow's
# decoders refuse files without them.
_TAIL_BYTES = 1024
_END_MARKERS = {".png": b"IEND", ".jpg": b"\xff\xd9", ".jpeg": b"\xff\xd9"}
_ACCEPTED_IMAGES = "complete .png, .jpg/.jpeg, .gif or .bmp image files"


def check_image_files(paths: Iterable) -> None:
    """Raises `DataFileError` for the first image that is empty, truncated or not an image.

    Args:
        paths: iterable of str or Path. Image files; the ending picks the format.

    Raises:
        DataFileError: naming the file and what is wrong with it.
    """
    for path in paths:
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in _SIGNATURES:
            continue  # not read as an image
        with open(path, "rb") as handle:
            head = handle.read(16)
            size = handle.seek(0, 2)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
        if not head:
            reason = "it is empty"
        elif not head.startswith(_SIGNATURES[suffix]):
            reason = f"it does not start like a {suffix} image (it starts with {head[:8]!r})"
        elif suffix in _END_MARKERS and _END_MARKERS[suffix] not in tail:
            reason = f"it is truncated (no {suffix} end marker in its last bytes)"
        else:
            continue
        raise errors.DataFileError(
            f"Cannot read image file {str(path)!r}: {reason}. Accepted: {_ACCEPTED_IMAGES}; "
            f"replace or delete the file."
        )


def check_utf8_files(paths: Iterable) -> None:
    """Raises `DataFileError` for the first file that is not UTF-8 text.

    Args:
        paths: iterable of str or Path. Text files.
    """
    for path in paths:
        check_utf8(Path(path).read_bytes(), path)


def check_utf8(data: bytes, path) -> str:
    """Decodes `data` read from `path` as UTF-8, or raises `DataFileError` naming both.

    Args:
        data: bytes. The file's content.
        path: str or Path. Where it was read, for the message.

    Example:

    >>> check_utf8(b"caf\\xc3\\xa9", "a.txt")
    'café'
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise errors.DataFileError(
            f"Cannot read {str(path)!r}: it is not UTF-8 text (byte "
            f"{data[err.start : err.start + 1]!r} at offset {err.start}, line {line}). "
            f"Accepted: UTF-8 text; re-save the file as UTF-8 (e.g. `iconv -f latin1 "
            f"-t utf-8`)."
        ) from None
