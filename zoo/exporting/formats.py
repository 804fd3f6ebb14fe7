"""The export formats, one table: how each is written, checked and benchmarked.

`zoo.export` writes and verifies an artifact through its entry here and
`zoo bench` writes and times one through the same entry, so adding a format
means adding one `ExportFormat` to `FORMATS`. A quantized format (`quantize`
set) is derived from another format's artifact (`base`), written only when
`zoo.export(..., quantize=)` asks for it, and verified by an accuracy gate
instead of max |diff|. Importing this module imports
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
        base: str or None. The format whose artifact this one is made from
            (`export` then gets `base=` its path); None for a format made
            from the Keras model alone.
        quantize: str or None. The `quantize=` value of `zoo.export` that
            adds this format (`"int8"`); None for the formats written by
            default. Quantized artifacts pass an accuracy gate, not max |diff|.

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
    base: str | None = None
    quantize: str | None = None


def _export_savedmodel(model, path, tokenizer=None, **_context) -> Path:
    """Writes a SavedModel; with a tokenizer, one that serves raw strings.

    Args:
        model: keras.Model. The model to export.
        path: str or Path. The SavedModel directory to create.
        tokenizer: WordTokenizer, WordPieceTokenizer or None. Traced into the
            graph, so `serve` takes strings.
        **_context: other formats' inputs (`base`, `calibration`), unused.
    """
    if tokenizer is not None:
        return export_text_savedmodel(model, tokenizer, path)
    return export_savedmodel(model, path)


def _export_onnx(model, path, tokenizer=None, **_context) -> Path:
    """Writes an ONNX file at `OPSET` (mixed-precision models in float32).

    Args:
        model: keras.Model. The model to export.
        path: str or Path. The `.onnx` file to create.
        tokenizer: ignored. The graph takes token ids; `zoo.export` writes
            `tokenizer.json` beside the file for the deployer to make them.
        **_context: other formats' inputs (`base`, `calibration`), unused.
    """
    return export_onnx(model, path, opset=OPSET)


def _export_onnx_int8(model, path, tokenizer=None, base=None, calibration=None) -> Path:
    """Writes an int8 ONNX file (`zoo.exporting.quantize`): static QDQ for
    convolutional graphs, calibrated on `calibration`; dynamic otherwise.

    Args:
        model: keras.Model. Exported to a float ONNX file first when `base`
            is None.
        path: str or Path. The int8 `.onnx` file to create.
        tokenizer: ignored, as for `"onnx"`.
        base: str, Path or None. The float ONNX file to quantize.
        calibration: numpy array, dict or None. Real training examples
            (model inputs) for static quantization.
    """
    import tempfile

    from zoo.exporting.onnx_channels import is_widened
    from zoo.exporting.quantize import quantize_int8

    path = Path(path)
    if base is not None and not is_widened(base):
        quantize_int8(base, path, calibration=calibration)
        return path
    # A widened graph's zero channels would count in the calibrated ranges
    # (percentiles of every value): kws_res8_narrow, 19 maps widened to 32,
    # lost 1.25 points in int8 where the unwidened graph loses 0.3-0.5.
    with tempfile.TemporaryDirectory(prefix="zoo-int8-") as tmp:
        float_path = export_onnx(model, Path(tmp) / "model.onnx", widen_channels=False)
        quantize_int8(float_path, path, calibration=calibration)
    return path


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
        ExportFormat(
            "onnx_int8",
            artifact_name="model.int8.onnx",
            runtime="onnxruntime_int8",
            runner=_HERE / "_run_onnxruntime.py",
            export=_export_onnx_int8,
            load=_load_onnxruntime,
            base="onnx",
            quantize="int8",
        ),
    )
}
# The formats `zoo.export` writes unless told otherwise: the unquantized ones.
DEFAULT_FORMATS = tuple(name for name, fmt in FORMATS.items() if fmt.quantize is None)
# `quantize=` values and the formats they add.
QUANTIZED = {fmt.quantize: name for name, fmt in FORMATS.items() if fmt.quantize is not None}
