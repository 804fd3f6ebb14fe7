"""File-system helpers: atomic writes, and the file layout of a run directory.

Nothing a reader can open is ever half-written: files are written under a
temporary name in the same directory and renamed into place (`os.replace`
is atomic on POSIX and Windows).

Example:

>>> write_json_atomic(Path("runs/r20/config.json"), {"model": "resnet20"})
>>> RunLayout("runs/r20").best_checkpoint
PosixPath('runs/r20/checkpoints/best.keras')
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_json_atomic(path, payload, *, mode: int | None = None) -> Path:
    """Writes `payload` as indented JSON at `path` by temporary file and rename.

    Args:
        path: str or Path. The destination; its directory must exist.
        payload: JSON-serializable object (unknown types become `str`).
        mode: int or None. File permissions (mkstemp makes files private;
            pass `0o644` for files meant to be shared).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=2, default=str)
            handle.write("\n")
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def replace_atomic(path, write: Callable[[Path], object]) -> Path:
    """Calls `write(tmp)` on a temporary sibling of `path`, then renames it over `path`.

    Args:
        path: str or Path. The destination.
        write: callable. Writes the file at the path it is given (the
            temporary name keeps the ending Keras checks: `.keras`, `.h5`).

    Example:

    >>> replace_atomic("runs/r20/model.keras", model.save)
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# The vocabulary file of a saved tokenizer, one token per line in id order
# (zoo.data.tokenizers writes it; shipped weights and run directories hold it).
VOCABULARY_FILE = "vocabulary.txt"


@dataclasses.dataclass(frozen=True)
class RunLayout:
    """Where each file of a run directory lives (the one place that says so).

    Args:
        root: str or Path. The run directory.
    """

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    config = property(
        lambda self: self.root / "config.json",
        doc="model, overrides, dataset, recipe, labels, status",
    )
    final_model = property(
        lambda self: self.root / "model.keras",
        doc="the final model, written when training completes",
    )
    checkpoints = property(lambda self: self.root / "checkpoints")
    best_checkpoint = property(
        lambda self: self.root / "checkpoints" / "best.keras", doc="best validation accuracy so far"
    )
    backup = property(lambda self: self.root / "backup", doc="StepBackup state while a run runs")
    logs = property(lambda self: self.root / "logs", doc="TensorBoard")
    history = property(
        lambda self: self.root / "history.csv", doc="one row per epoch (appended on resume)"
    )
    curves = property(lambda self: self.root / "curves.png", doc="loss and accuracy curves")
    tokenizer = property(lambda self: self.root / "tokenizer", doc="the tokenizer of a text run")
    lock_file = property(
        lambda self: self.root / ".lock", doc="held by the process training into the run"
    )


def entry_lines(text: str) -> list[str]:
    r"""The entries of a one-entry-per-line file (a vocabulary), in order.

    Splits on "\n" only: `str.splitlines()` also breaks on characters such as
    U+0085 or U+001E, which may sit inside a token and would shift every id.
    The empty string after the file's final newline is not an entry.

    Args:
        text: str. The file's decoded content.

    Example:

    >>> entry_lines("[PAD]\n[UNK]\nfilm\n")
    ['[PAD]', '[UNK]', 'film']
    """
    entries = text.split("\n")
    return entries[:-1] if entries and entries[-1] == "" else entries
