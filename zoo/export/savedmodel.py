"""SavedModel export through Keras' own `model.export`."""

from __future__ import annotations

from pathlib import Path


def export_savedmodel(model, path) -> Path:
    """Writes a SavedModel with a `serve` signature on the model's raw inputs.

    Args:
        model: keras.Model. The model to export.
        path: str or Path. The SavedModel directory to create.

    Example:

    >>> export_savedmodel(model, "out/savedmodel")
    """
    path = Path(path)
    model.export(str(path), format="tf_saved_model", verbose=False)
    return path
