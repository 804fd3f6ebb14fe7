"""The export formats, one table: how each is written, checked and benchmarked.

`zoo.export` writes and verifies an artifact through its entry here and
`zoo bench` writes and times one through the same entry, so adding a format
means adding one `ExportFormat` to `FORMATS`. Importing this module imports
neither TensorFlow nor onnxruntime (`import zoo.bench` stays light): each
function imports its runtime when called.

Example:

>>> from zoo.exporting.formats import FORMATS
>>> fmt = FORMATS["onnx"]
>>> path = fmt.export(model, out / fmt.artifact_name)
>>> call = fmt.load(path)(images)   # bench: one timed call of the runtime
>>> probs = call()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from zoo.exporting.onnx import OPSET, export_onnx
from zoo.exporting.savedmodel import export_savedmodel, export_text_savedmodel

_HERE = Path(__file__).parent


@dataclasses.dataclass(frozen=True)
class ExportFormat:
    """One export format: its artifact, its runtime, and how to make and run it.

    Args:
        name: str. The format's name in `formats=` and reports, e.g. `"onnx"`.
        artifact_name: str. The file or directory name of the artifact inside
            an export directory, e.g. `"model.onnx"`.
        runtime: str. The row `zoo bench` times the artifact in (a key of
            `zoo.bench.RUNTIME_LABELS`), e.g. `"onnxruntime"`.
        runner: Path. The script `zoo.exporting.verify` starts with
            `python -I RUNNER ARTIFACT IN.npz OUT.npz` to run the artifact in
            a clean process (no zoo importable).
        export: callable. `export(model, path, tokenizer=None) -> Path` writes
            the artifact at `path` and returns it.
        load: callable. `load(path) -> make_call`, for `zoo bench`:
            `make_call(x)` returns a no-argument callable that runs the loaded
            artifact on the batch `x` (numpy array, or dict by input name).

    Example:

    >>> FORMATS["savedmodel"].artifact_name
    'savedmodel'
    """

    name: str
    artifact_name: str
    runtime: str
    runner: Path
    export: Callable[..., Path]
    load: Callable[[Path], Callable]


def _export_savedmodel(model, path, tokenizer=None) -> Path:
    """Writes a SavedModel; with a tokenizer, one that serves raw strings.

    Args:
        model: keras.Model. The model to export.
        path: str or Path. The SavedModel directory to create.
        tokenizer: WordTokenizer, WordPieceTokenizer or None. Traced into the
            graph, so `serve` takes strings.
    """
    if tokenizer is not None:
        return export_text_savedmodel(model, tokenizer, path)
    return export_savedmodel(model, path)


def _export_onnx(model, path, tokenizer=None) -> Path:
    """Writes an ONNX file at `OPSET` (mixed-precision models in float32).

    Args:
        model: keras.Model. The model to export.
        path: str or Path. The `.onnx` file to create.
        tokenizer: ignored. The graph takes token ids; `zoo.export` writes
            `tokenizer.json` beside the file for the deployer to make them.
    """
    return export_onnx(model, path, opset=OPSET)


def _load_savedmodel(path) -> Callable:
    """`make_call(x)` for a SavedModel served by TensorFlow (`loaded.serve`).

    Args:
        path: str or Path. A SavedModel directory.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))

    def make_call(x):
        x = tf.nest.map_structure(tf.constant, x)
        # `loaded` stays referenced here: the variables die with it.
        return lambda: loaded.serve(x).numpy()

    return make_call


def _load_onnxruntime(path) -> Callable:
    """`make_call(x)` for an ONNX file in an onnxruntime CPU session.

    Args:
        path: str or Path. An `.onnx` file.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Idle onnxruntime workers spin by default; interleaved with TensorFlow
    # calls, the spinning would take the cores from the next runtime timed.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def make_call(x):
        # ONNX input names may carry a suffix (`token_ids:0`): match on the stem.
        feeds = (
            {names[0]: x}
            if not isinstance(x, dict)
            else {n: next(v for k, v in x.items() if n.startswith(k)) for n in names}
        )
        return lambda: session.run(None, feeds)[0]

    return make_call


# Insertion order is the order formats are exported, reported and benchmarked.
FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in (
        ExportFormat(
            "savedmodel",
            artifact_name="savedmodel",
            runtime="savedmodel",
            runner=_HERE / "_run_savedmodel.py",
            export=_export_savedmodel,
            load=_load_savedmodel,
        ),
        ExportFormat(
            "onnx",
            artifact_name="model.onnx",
            runtime="onnxruntime",
            runner=_HERE / "_run_onnxruntime.py",
            export=_export_onnx,
            load=_load_onnxruntime,
        ),
    )
}
