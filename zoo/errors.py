"""Every user-facing failure of zoo, as one exception hierarchy.

A caller can catch `zoo.ZooError` for anything zoo reports on purpose. Each
subclass also derives from the built-in exception a Python user would expect
(`ValueError`, `FileNotFoundError`, ...), so existing `except` clauses keep
working. Messages quote the received value and say what would be accepted.

Example:

>>> import zoo
>>> try:
...     zoo.get_model("resnt20")
... except zoo.ZooError as err:
...     print(err)
Unknown model 'resnt20'. Did you mean: 'resnet20'? ...
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


class ZooError(Exception):
    """Base class of every error zoo raises on purpose."""


class UnknownNameError(ZooError, ValueError):
    """A model, dataset, recipe, strategy or format name that is not known."""

    def __init__(self, kind: str, name: object, choices: Iterable[str], hint: str = ""):
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        message = unknown_name_message(kind, name, self.choices)
        super().__init__(f"{message} {hint}" if hint else message)


class UnknownModelError(UnknownNameError):
    """`get_model`/`model_info` got a name that is not registered."""

    def __init__(self, name: object, choices: Iterable[str]):
        super().__init__("model", name, choices)


class UnknownDatasetError(UnknownNameError):
    """`get_dataset` got a dataset name it cannot serve."""

    def __init__(self, name: object, choices: Iterable[str]):
        # A bare folder name that does not exist here reads as a dataset name.
        hint = ""
        if isinstance(name, (str, os.PathLike)) and str(name):
            try:
                here = f" in {os.getcwd()!r}"
            except OSError:  # the working directory was deleted
                here = ""
            hint = (
                f"Or pass an existing folder of class subfolders or a .csv/.tsv file; no "
                f"{str(name)!r} exists{here}."
            )
        super().__init__("dataset", name, choices, hint)


class UnknownRecipeError(UnknownNameError):
    """`get_recipe` got a name that is neither a recipe nor a model."""

    def __init__(self, name: object, choices: Iterable[str]):
        super().__init__("recipe", name, choices)


class InvalidArgumentError(ZooError, ValueError):
    """An argument or model override with a bad value or an unknown keyword."""


class DatasetNotAvailableError(ZooError, FileNotFoundError):
    """A dataset is not prepared locally and cannot be downloaded now."""


class DataFileError(ZooError, ValueError):
    """A data or vocabulary file that is empty, truncated, corrupt or not in its format.

    For example an image of a folder dataset that is not a complete PNG, JPEG,
    GIF or BMP file, or a text, CSV/TSV or vocabulary file that is not UTF-8.
    The message names the file and what is wrong with it.
    """


class AudioFileError(DataFileError):
    """An audio file that is empty, truncated, corrupt or in a format zoo does not read."""


class WeightsError(ZooError, ValueError):
    """Pretrained weights that are unknown, missing, or fail their checksum."""


class ModelFileError(ZooError, ValueError):
    """A saved model file that is missing, truncated or corrupt, or names an unknown class."""


class UnsafeModelError(ModelFileError):
    """A saved model that `safe_mode` refused: loading it could execute code.

    The file is not corrupt. Rebuild the model without the refused part (e.g.
    a `Lambda` layer), or, only for a file you trust, load it with
    `safe_mode=False`.
    """


class StrategyError(ZooError, RuntimeError):
    """A distribution strategy or device layout that cannot be set up."""


class RunDirError(ZooError, FileNotFoundError):
    """A run directory that is missing, incomplete or belongs to another run."""


class TrainingDivergedError(ZooError, FloatingPointError):
    """Training stopped because the loss became NaN or infinite."""


class ExportError(ZooError, RuntimeError):
    """An export that could not be written."""


class ExportVerificationError(ExportError):
    """An exported artifact whose outputs do not match the Keras model.

    Attributes:
        report: dict. The per-format figures (max |diff|, argmax agreement).
    """

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}


class SynthesisError(ZooError, RuntimeError):
    """The speech synthesizer (espeak-ng) is missing or failed to speak."""


def unknown_name_message(kind: str, name: object, choices: Iterable[str]) -> str:
    """Builds "Unknown <kind> 'x'. Did you mean ...? Known: ..." messages.

    Args:
        kind: str. What was looked up ("model", "dataset", ...).
        name: object. The value received.
        choices: iterable of str. Every accepted name.

    Example:

    >>> unknown_name_message("model", "resnt20", ["resnet20", "resnet32"])
    "Unknown model 'resnt20'. Did you mean: 'resnet20', 'resnet32'? Known models: ..."
    """
    choices = sorted(choices)
    message = f"Unknown {kind} {name!r}."
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.6)
    if close:
        message += " Did you mean: " + ", ".join(repr(c) for c in close) + "?"
    shown = ", ".join(choices[:30]) + (", ..." if len(choices) > 30 else "")
    message += f" Known {kind}s: {shown or '(none)'}."
    return message
