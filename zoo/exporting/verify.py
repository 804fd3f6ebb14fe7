"""Checks an exported artifact against the Keras model in a separate process.

The runners (`_run_savedmodel.py`, `_run_onnxruntime.py`, named by each
format's `runner` in `zoo.exporting.formats.FORMATS`) start with `python -I`,
so neither the working directory nor zoo is importable: a passing check
proves a deployer needs only TensorFlow (SavedModel) or only onnxruntime and
numpy (ONNX).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from zoo import errors
from zoo.exporting.formats import FORMATS

_TIMEOUT_S = 600


def run_artifact(fmt: str, artifact, inputs: dict) -> dict:
    """Runs an artifact on `inputs` in its own runtime, in another process.

    Args:
        fmt: str. A key of `FORMATS`: `"savedmodel"` or `"onnx"`.
        artifact: str or Path. The SavedModel directory or ONNX file.
        inputs: dict of str to numpy array. One array per model input.

    Returns:
        `{"outputs": first output}`, plus `"token_ids"` when the ONNX runner
        tokenized `texts` itself.

    Example:

    >>> probs = run_artifact("onnx", "out/r20/model.onnx", {"images": images})["outputs"]
    """
    with tempfile.TemporaryDirectory(prefix="zoo-verify-") as tmp:
        feed, result = Path(tmp) / "inputs.npz", Path(tmp) / "outputs.npz"
        np.savez(feed, **inputs)
        # Absolute: the runner works in its own directory, away from zoo.
        artifact = Path(artifact).resolve()
        command = [
            sys.executable,
            "-I",
            str(FORMATS[fmt].runner),
            str(artifact),
            str(feed),
            str(result),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=_TIMEOUT_S, cwd=tmp
            )
        except subprocess.TimeoutExpired as err:  # a hung runtime is a failed export
            stderr = err.stderr or b""  # bytes on POSIX even with text=True
            stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
            raise errors.ExportError(
                f"The {fmt} artifact {str(artifact)!r} did not finish within {_TIMEOUT_S} s "
                f"in a clean process: {stderr.strip()[-1500:]}"
            ) from err
        if done.returncode != 0:
            raise errors.ExportError(
                f"The {fmt} artifact {str(artifact)!r} failed to run in a clean process "
                f"(exit {done.returncode}): {done.stderr.strip()[-1500:]}"
            )
        with np.load(result) as loaded:
            return {key: loaded[key] for key in loaded.files}


def compare(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """`(max |diff|, argmax agreement)` of two output batches.

    Args:
        expected: numpy array. Keras outputs `(batch, classes)`.
        actual: numpy array. The artifact's outputs, same shape.
    """
    if expected.shape != actual.shape:
        return float("inf"), 0.0
    diff = float(np.max(np.abs(expected.astype("float64") - actual.astype("float64"))))
    agreement = float(np.mean(expected.argmax(-1) == actual.argmax(-1)))
    return diff, agreement
