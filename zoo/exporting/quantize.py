"""int8 ONNX through onnxruntime's quantization tools.

Two modes, picked from the float graph itself so no family is named here:

- `static`: QDQ (QuantizeLinear/DequantizeLinear around each Conv and
  MatMul), int8 weights per channel and uint8 activations whose ranges are
  calibrated on real training examples. For convolutional graphs: their
  activation ranges are stable from input to input, and onnxruntime runs the
  QDQ Conv as an integer Conv on VNNI kernels.
- `dynamic`: int8 weights, activations quantized per call from their own
  range (`DynamicQuantizeLinear`, `MatMulInteger`, `DynamicQuantizeLSTM`).
  For LSTM and attention graphs, whose activation ranges vary with the text.
  Dense layers (`Gemm`) are first written as `MatMul` + `Add`
  (`zoo.exporting.onnx_gemm`), which onnxruntime's dynamic mode quantizes.

A quantized artifact is not numerically equal to the float one, so
`zoo.export` holds it to an accuracy gate (`zoo.exporting.verify.accuracy`),
not to max |diff|.

Example:

>>> mode = quantize_int8("out/model.onnx", "out/model.int8.onnx", calibration=images)
>>> mode
'static'
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from zoo import errors

MODES = ("static", "dynamic")
# Calibration examples fed per call to onnxruntime's calibrator.
_CALIBRATION_BATCH = 32


def quantization_mode(onnx_path) -> str:
    """`"static"` for a graph with convolutions, else `"dynamic"`.

    Args:
        onnx_path: str or Path. A float ONNX file.

    Example:

    >>> quantization_mode("out/r20/model.onnx")
    'static'
    """
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return "static" if any(node.op_type == "Conv" for node in graph.node) else "dynamic"


def quantize_int8(source, path, *, calibration=None, mode: str | None = None) -> str:
    """Writes an int8 copy of a float ONNX file.

    Args:
        source: str or Path. The float ONNX file (left as it is).
        path: str or Path. The int8 ONNX file to create.
        calibration: numpy array, dict of arrays by input name, or None.
            Real training examples whose activation ranges fix the static
            scales; needed for `static`, unused for `dynamic`.
        mode: str or None. `"static"` or `"dynamic"`; None picks with
            `quantization_mode`.

    Returns:
        The mode used.

    Example:

    >>> quantize_int8("m.onnx", "m.int8.onnx", calibration=train_images)
    'static'
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    mode = mode or quantization_mode(source)
    if mode not in MODES:
        raise errors.InvalidArgumentError(
            f"int8 quantization mode must be one of {list(MODES)}. Received: mode={mode!r}"
        )
    if mode == "static" and calibration is None:
        raise errors.InvalidArgumentError(
            "Static int8 quantization of a convolutional model calibrates its activation "
            "ranges on real training examples; pass calibration= (a batch of model inputs). "
            "Received: calibration=None"
        )
    with tempfile.TemporaryDirectory(prefix="zoo-quantize-") as tmp:
        prepared = _preprocessed(Path(source), Path(tmp) / "prepared.onnx")
        if mode == "dynamic":
            prepared = _dense_layers_as_matmuls(prepared)
            quantize_dynamic(str(prepared), str(path), weight_type=QuantType.QInt8)
        else:
            quantize_static(
                str(prepared),
                str(path),
                _examples_reader(prepared, calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                # u8 activations, s8 weights: the VNNI path (no u8s8 saturation there).
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
    return mode


def _preprocessed(source: Path, target: Path) -> Path:
    """onnxruntime's pre-quantization pass (shape inference, constant folding).

    Symbolic shape inference is skipped: it needs sympy, which zoo does not
    depend on, and ONNX's own shape inference covers these graphs.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
    return target


def _dense_layers_as_matmuls(path: Path) -> Path:
    """Rewrites the graph's `Gemm`s as `MatMul` + `Add`, which dynamic int8 quantizes.

    See `zoo.exporting.onnx_gemm`: without it a transformer's dense layers
    stay float32 in the int8 file.
    """
    import onnx

    from zoo.exporting.onnx_gemm import gemms_as_matmuls

    model = onnx.load(str(path))
    if gemms_as_matmuls(model):
        onnx.save(model, str(path))
    return path


def _examples_reader(onnx_path, examples):
    """A `CalibrationDataReader` over a batch of examples, fed in chunks.

    The class is made here, not at module level, so that importing this
    module does not import onnxruntime.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    initializers = {i.name for i in graph.initializer}
    names = [i.name for i in graph.input if i.name not in initializers]
    feeds = examples if isinstance(examples, dict) else {names[0]: examples}
    # ONNX input names may carry a suffix (`token_ids:0`): match on the stem.
    by_name = {n: np.asarray(feeds[_stem(n, feeds)]) for n in names}
    rows = len(next(iter(by_name.values())))
    chunks = [
        {n: v[start : start + _CALIBRATION_BATCH] for n, v in by_name.items()}
        for start in range(0, rows, _CALIBRATION_BATCH)
    ]

    class ExamplesReader(CalibrationDataReader):
        def __init__(self):
            self._chunks = iter(chunks)

        def get_next(self):
            return next(self._chunks, None)

    return ExamplesReader()


def _stem(name: str, feeds: dict) -> str:
    for key in feeds:
        if name == key or name.startswith(f"{key}:"):
            return key
    if len(feeds) == 1:
        return next(iter(feeds))
    raise errors.InvalidArgumentError(
        f"calibration must have a batch for each model input. The graph takes {name!r}; "
        f"Received: keys {sorted(feeds)}"
    )
