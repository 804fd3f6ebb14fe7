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
  Convolutions stay float here: onnxruntime's `ConvInteger` is slower than
  its float `Conv` (kwt_1's STFT convolution: a third of the int8 time).

Whatever feeds a `Log` stays float32 in both modes (`float_nodes`): a speech
model's front end (STFT, power spectrum, mel filterbank) makes values that
span decades, which 8 linear bits cannot hold; quantized, the shipped
kws_res8 fell from 0.928 to 0.088 accuracy.

A quantized artifact is not numerically equal to the float one, so
`zoo.export` holds it to an accuracy gate (`zoo.exporting.verify.accuracy`),
not to max |diff|.

Example:

>>> mode = quantize_int8("out/model.onnx", "out/model.int8.onnx", calibration=images)
>>> mode
'static'
"""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path

import numpy as np

from zoo import errors

MODES = ("static", "dynamic")
# The op types static mode quantizes: convolutions, sums (residual ones, and
# any other `Add` after the front end, e.g. a speech model's normalization:
# measured harmless), activations, pooling. The classifier head and
# elementwise products stay float: quantizing the logits' Gemm cost
# kws_res8_narrow 4 points of accuracy and its `Mul`s 17, for no measurable speed.
STATIC_OP_TYPES = ("Conv", "Add", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool")
# Calibration examples fed per call to onnxruntime's calibrator.
_CALIBRATION_BATCH = 32


def quantization_mode(onnx_path) -> str:
    """`"static"` for a convolutional graph, else `"dynamic"`.

    Convolutional: more `Conv` than `MatMul`, `Gemm` and `LSTM` nodes among
    those that get quantized (not `float_nodes`). A transformer or LSTM with a
    convolutional front end (`kwt_*`, `kws_lstm`) is dynamic.

    Args:
        onnx_path: str or Path. A float ONNX file.

    Example:

    >>> quantization_mode("out/r20/model.onnx")
    'static'
    """
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    kept = float_nodes(graph)
    ops = collections.Counter(node.op_type for node in graph.node if node.name not in kept)
    return "static" if ops["Conv"] > ops["MatMul"] + ops["Gemm"] + ops["LSTM"] else "dynamic"


def float_nodes(graph) -> set:
    """Names of the nodes kept float32 in an int8 file: all that a `Log` reads from.

    Args:
        graph: onnx.GraphProto.

    Returns:
        set of str.

    Example:

    >>> sorted(float_nodes(onnx.load("out/kws/model.onnx").graph))[:1]
    ['kws_res8_1/log_mel_1/Log']
    """
    from zoo.exporting.onnx_graph import producers

    producer = producers(graph)
    pending = [name for node in graph.node if node.op_type == "Log" for name in node.input]
    kept = {node.name for node in graph.node if node.op_type == "Log"}
    while pending:
        node = producer.get(pending.pop())
        if node is not None and node.name not in kept:
            kept.add(node.name)
            pending.extend(node.input)
    return kept


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
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

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
        graph = onnx.load(str(prepared), load_external_data=False).graph
        kept = float_nodes(graph)
        convolutions = [n.name for n in graph.node if n.op_type == "Conv" and n.name not in kept]
        if mode == "dynamic":
            quantize_dynamic(
                str(prepared),
                str(path),
                weight_type=QuantType.QInt8,
                nodes_to_exclude=sorted(kept | set(convolutions)),
            )
        else:
            # The first convolution reads the input features (pixels, log-mel
            # or MFCC coefficients), whose ranges differ per channel; one
            # per-tensor u8 scale for them cost kws_res8_narrow up to 3 points.
            quantize_static(
                str(prepared),
                str(path),
                _examples_reader(prepared, calibration),
                quant_format=QuantFormat.QDQ,
                nodes_to_exclude=sorted(kept | set(convolutions[:1])),
                op_types_to_quantize=list(STATIC_OP_TYPES),
                # Ranges at the 99.99th percentile, not min/max: a few outlying
                # activations no longer stretch the scale for all the others.
                # kws_res8_narrow (0.881 float), four draws of 1024 clips:
                # min/max 0.843-0.866, 99.999th 0.865-0.878, 99.99th 0.876-0.878.
                calibrate_method=CalibrationMethod.Percentile,
                extra_options={
                    "CalibPercentile": 99.99,
                    # One chunk per collection: onnxruntime's calibrators keep
                    # every activation of what they are fed (resnet50: ~100 MB
                    # an image); the histograms merge from chunk to chunk.
                    "CalibStridedMinMax": 1,
                },
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
        """Serves `chunks[start:end]`; onnxruntime's strided calibration
        (`CalibStridedMinMax`) sets one range per call, so the activations of
        one chunk at a time are held, not those of every example."""

        def __init__(self):
            self._chunks = iter(chunks)

        def __len__(self):
            return len(chunks)

        def set_range(self, start_index, end_index):
            self._chunks = iter(chunks[start_index:end_index])

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
