"""Loading saved `.keras` models in any process: `load_model`.

A `.keras` file names its zoo classes (`ImageClassifier`, `ResNetBackbone`,
...) by their registered names, and Keras finds them only once the module
that registers them has been imported. Keras 3 will not import that module
itself (it imports modules named in a file only for its own packages), and
`import zoo` stays free of TensorFlow, so after a bare `import zoo`,
`keras.saving.load_model` fails with "Could not locate class
'ImageClassifier'". `load_model` imports every family first (built in and
installed through the `zoo.families` entry points), then loads with
`safe_mode` on, and reports each way loading fails as a `ZooError`.

Example:

>>> import zoo
>>> model = zoo.load_model("runs/r20/model.keras")   # a fresh process is fine
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile

from zoo import errors, registry

# Keras' warning when a loaded model's optimizer differs from the saved one's.
OPTIMIZER_MISMATCH = r"Skipping variable loading for optimizer "
_CORRUPT_HELP = "The file is corrupt or truncated; restore it, or save (retrain) the model again."
_SAFE_MODE_HELP = (
    "safe_mode=True (Keras' default, which zoo keeps) refuses any part of a file whose "
    "loading would run code stored in it, such as the Python lambda of a Lambda layer, "
    "so that opening a model cannot execute someone else's code."
)


def load_model(path, *, compile: bool = True, safe_mode: bool = True, custom_objects=None):
    """Loads a model saved with `model.save("m.keras")`, in this or any process.

    The same as `keras.saving.load_model`, after registering every zoo class
    (it imports the family packages), so it works right after `import zoo`.

    Args:
        path: str or Path. A `.keras` file.
        compile: bool. As in Keras (default True): restore the optimizer,
            loss and metrics the model was saved with, if any. Pass False for
            inference only.
        safe_mode: bool. Keep True (the default) unless you trust the file:
            it refuses parts whose loading would run code stored in the file
            (e.g. a `Lambda` layer's Python lambda).
        custom_objects: dict or None. Your own classes or functions that are
            not registered with `keras.saving.register_keras_serializable`.

    Returns:
        The `keras.Model`.

    Raises:
        UnsafeModelError: safe_mode refused the file (it is not corrupt).
        ModelFileError: no such file, a truncated or corrupt one, or one
            holding a class that is not registered.

    Example:

    >>> model = zoo.load_model("runs/r20/model.keras")
    >>> model.predict(images)
    """
    import keras  # here: `import zoo` stays free of TensorFlow

    path_str = os.fspath(path)
    if "://" not in path_str and not os.path.exists(path_str):
        raise errors.ModelFileError(
            f"No model file at {path_str!r}. Pass the path of a .keras file written by "
            f"model.save(...) or `zoo train` (RUN_DIR/model.keras)."
        )
    if path_str.endswith(".keras") and os.path.isfile(path_str):
        if not zipfile.is_zipfile(path_str):  # Keras would say "File not found"
            raise errors.ModelFileError(
                f"Cannot load {path_str!r}: it is not a zip archive, as every .keras file "
                f"is. {_CORRUPT_HELP}"
            )
    registry.load_families()  # registers every zoo Keras class
    try:
        with warnings.catch_warnings():
            if not compile:
                # keras-hub task models compile a default optimizer when built, so
                # Keras offers it the saved training optimizer's state, which an
                # uncompiled load does not use ("Skipping variable loading for
                # optimizer 'adam_1', because it has 2 variables ...").
                warnings.filterwarnings("ignore", message=OPTIMIZER_MISMATCH, category=UserWarning)
            return keras.saving.load_model(
                path_str, compile=compile, safe_mode=safe_mode, custom_objects=custom_objects
            )
    except Exception as err:  # every failure is reported as a ZooError below
        raise _load_error(path_str, err) from err


def _load_error(path: str, err: Exception) -> errors.ModelFileError:
    refusal = _safe_mode_refusal(err)
    if refusal is not None:
        reason = _one_line(str(refusal)).split(". ")[0]
        risk = "execute code" if "code" in str(refusal) else "read files from outside it"
        return errors.UnsafeModelError(
            f"Refused to load {path!r}: loading it could {risk} (Keras: {reason}). The "
            f"file is not corrupt. {_SAFE_MODE_HELP} Rebuild the model without that part "
            f"(zoo's layers, or a layer class of your own registered with "
            f"@keras.saving.register_keras_serializable instead of a Lambda layer) and save "
            f"it again; or, only for a file you trust, load it with "
            f"zoo.load_model(path, safe_mode=False) (plain Keras: "
            f"keras.saving.load_model(path, safe_mode=False))."
        )
    # Keras wraps a nested failure in a TypeError about the outer class.
    unknown = re.search(r"Could not locate (class|function) '([^']+)'", str(err))
    if unknown is not None:
        kind, name = unknown.groups()
        return errors.ModelFileError(
            f"Cannot load {path!r}: it holds the {kind} {name!r}, which no imported module "
            f"has registered with Keras (zoo's families, and those installed through the "
            f"zoo.families entry points, are all imported by now). Import the module that "
            f"defines it (decorated with "
            f"@keras.saving.register_keras_serializable) before loading, or pass "
            f"custom_objects={{{name!r}: ...}}."
        )
    message = _one_line(str(err)).rstrip(".")
    if len(message) > 300:
        message = message[:300] + "..."
    return errors.ModelFileError(
        f"Cannot load {path!r}: {type(err).__name__}: {message}. {_CORRUPT_HELP}"
    )


def _one_line(text: str) -> str:
    """Keras' message on one line (the CLI prints errors as one line)."""
    return " ".join(text.split())


def _safe_mode_refusal(err: BaseException | None) -> BaseException | None:
    """The ValueError in `err`'s chain by which Keras' safe_mode refused a file."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, ValueError) and "safe_mode" in str(err):
            return err
        err = err.__cause__ or err.__context__
    return None
