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


def run_artifact(fmt: str, artifact, cases: list) -> dict:
    """Runs an artifact on several input cases in its own runtime, in one other process.

    One process for all cases: starting TensorFlow costs seconds, a case
    milliseconds.

    Args:
        fmt: str. A key of `FORMATS`: `"savedmodel"` or `"onnx"`.
        artifact: str or Path. The SavedModel directory or ONNX file.
        cases: list of dict of str to numpy array. Each one batch, one array
            per model input by name (or `texts` for a text export).

    Returns:
        `{"cases": [...], "declared": {...}}`: per case in order a dict with
        `"outputs"` (the first output), plus `"token_ids"` when the ONNX
        runner tokenized `texts` itself; and each input's shape as the
        artifact declares it (None for a dynamic axis).

    Example:

    >>> ran = run_artifact("onnx", "out/r20/model.onnx", [{"images": images}])
    >>> probs = ran["cases"][0]["outputs"]
    """
    with tempfile.TemporaryDirectory(prefix="zoo-verify-") as tmp:
        feed, result = Path(tmp) / "inputs.npz", Path(tmp) / "outputs.npz"
        np.savez(
            feed,
            **{
                f"case{i}/{name}": value
                for i, case in enumerate(cases)
                for name, value in case.items()
            },
        )
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
            ran = {key: loaded[key] for key in loaded.files}
    per_case = [{} for _ in cases]
    declared = {}
    for key, value in ran.items():
        group, name = key.split("/", 1)
        if group == "declared":
            declared[name] = [None if d < 0 else int(d) for d in value]
        else:
            per_case[int(group[len("case") :])][name] = value
    return {"cases": per_case, "declared": declared}


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


# Validation examples per onnxruntime call in the accuracy gate; also the
# batch size of the latency figure it reports beside batch 1.
GATE_BATCH = 32
# Single-example calls timed for the batch-1 latency (median; the first call
# of a session, which allocates its buffers, is one of them).
_LATENCY_CALLS = 11


def accuracy(fmt: str, artifact, inputs, labels) -> dict:
    """Accuracy and latency of an artifact on labelled examples, in a clean process.

    The examples go to the format's runner (the deployer's runtime alone) in
    batches of `GATE_BATCH`, plus `_LATENCY_CALLS` single examples timed for
    batch 1.

    Args:
        fmt: str. A key of `FORMATS` run by the ONNX runner (`"onnx"`,
            `"onnx_int8"`).
        artifact: str or Path. The artifact.
        inputs: numpy array or dict of arrays by input name. Model inputs
            (token ids for text models).
        labels: numpy int array `(N,)`. The true classes.

    Returns:
        `{"accuracy": float, "examples": int, "latency_ms": {1: ms, 32: ms}}`
        (medians of the timed calls).

    Example:

    >>> accuracy("onnx_int8", "out/r20/model.int8.onnx", val_images, val_labels)
    {'accuracy': 0.978, 'examples': 360, 'latency_ms': {1: 0.4, 32: 3.1}}
    """
    feeds = inputs if isinstance(inputs, dict) else {"inputs": inputs}
    feeds = {k: np.asarray(v) for k, v in feeds.items()}
    labels = np.asarray(labels).reshape(-1)
    rows = len(labels)
    batches = [
        {k: v[start : start + GATE_BATCH] for k, v in feeds.items()}
        for start in range(0, rows, GATE_BATCH)
    ]
    singles = [
        {k: v[i % rows : i % rows + 1] for k, v in feeds.items()} for i in range(_LATENCY_CALLS)
    ]
    ran = run_artifact(fmt, artifact, batches + singles)["cases"]
    predicted = np.concatenate([case["outputs"].argmax(-1) for case in ran[: len(batches)]])
    full = [float(c["ms"]) for c in ran[: rows // GATE_BATCH]]  # whole batches only
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "examples": rows,
        "latency_ms": {
            1: float(np.median([float(c["ms"]) for c in ran[len(batches) :]])),
            GATE_BATCH: float(np.median(full or [float(ran[0]["ms"])])),
        },
    }
