"""int8 export: quantized ONNX beside the float file, held to an accuracy gate.

The shipped weights make the gate honest: real models on their own
datasets' validation splits (digits, sentiment), in seconds.
"""

import json

import numpy as np
import onnx
import pytest

import zoo
from zoo import data, errors
from zoo.exporting.quantize import quantization_mode, quantize_int8

# One worker builds the module's shared fixtures once (xdist would build them on each).
pytestmark = pytest.mark.xdist_group("test_quantize")


@pytest.fixture(scope="module")
def digits():
    model = zoo.get_model("resnet20", weights="resnet20.digits")
    train, val = data.get_dataset("digits", model=model, batch_size=64, augment=False)
    return model, data.as_arrays(train, 64)[0], data.as_arrays(val)


@pytest.fixture(scope="module")
def resnet_int8(digits, tmp_path_factory):
    model, calibration, validation = digits
    out = tmp_path_factory.mktemp("int8") / "r20"
    report = zoo.export(
        model,
        out,
        formats="onnx",
        inputs=validation[0][:8],
        quantize="int8",
        calibration=calibration,
        validation_data=validation,
        model_name="resnet20",
    )
    return out, report


def _op_types(path) -> set:
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_cnn_gets_static_qdq_int8_within_one_point(resnet_int8):
    out, report = resnet_int8
    result = report["onnx_int8"]
    assert report.passed and result.quantization == "static"
    assert result.accuracy_examples == 360
    # resnet20.digits records 0.9806 on this split; the float ONNX file matches Keras.
    assert result.reference_accuracy == pytest.approx(0.9806, abs=1e-3)
    assert result.accuracy_drop <= 0.01
    # Both files are kept; the int8 one holds QDQ pairs around integer weights.
    assert (out / "model.onnx").exists() and (out / "model.int8.onnx").exists()
    assert {"QuantizeLinear", "DequantizeLinear"} <= _op_types(out / "model.int8.onnx")
    assert "QuantizeLinear" not in _op_types(out / "model.onnx")
    assert (out / "model.int8.onnx").stat().st_size < (out / "model.onnx").stat().st_size / 2
    assert "static int8: accuracy" in str(report)


def test_metadata_carries_both_accuracies_and_latency(resnet_int8):
    out, report = resnet_int8
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["artifacts"] == {"onnx": "model.onnx", "onnx_int8": "model.int8.onnx"}
    gate = metadata["quantized"]["onnx_int8"]
    assert gate["mode"] == "static" and gate["max_accuracy_drop"] == 0.01
    assert gate["accuracy"] == report["onnx_int8"].accuracy
    assert gate["float_accuracy"] == report["onnx_int8"].reference_accuracy
    assert set(gate["latency_ms"]) == set(gate["float_latency_ms"]) == {"1", "32"}
    assert all(ms > 0 for ms in gate["latency_ms"].values())
    # The int8 file takes the same dynamic batch axis as the float one.
    assert metadata["dynamic_axes"]["images"] == {"0": "batch"}


def test_broken_calibration_is_refused_and_writes_nothing(digits, tmp_path):
    """Activation ranges calibrated on blank images clip every real digit."""
    model, calibration, validation = digits
    out = tmp_path / "broken"
    with pytest.raises(errors.ExportVerificationError, match=r"onnx_int8: accuracy .* drop of"):
        zoo.export(
            model,
            out,
            formats="onnx",
            inputs=validation[0][:8],
            quantize="int8",
            calibration=np.zeros_like(calibration),
            validation_data=validation,
        )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging directory left behind


def test_lstm_gets_dynamic_int8_from_raw_texts(tmp_path):
    model = zoo.get_model("lstm", weights="lstm.sentiment")
    tokenizer = zoo.pretrained_tokenizer("lstm", "lstm.sentiment")
    _, val = data.get_dataset(
        "sentiment", model=model, batch_size=250, augment=False, tokenizer=tokenizer
    )
    ids, labels = data.as_arrays(val)
    texts = data.text_examples("sentiment", 8)
    report = zoo.export(
        model,
        tmp_path / "lstm",
        formats="onnx",
        inputs=texts,
        tokenizer=tokenizer,
        quantize="int8",
        validation_data=(ids, labels),
    )
    result = report["onnx_int8"]
    assert result.quantization == "dynamic" and result.tokens_match
    assert result.reference_accuracy == 1.0 and result.accuracy_drop <= 0.01
    assert "DynamicQuantizeLSTM" in _op_types(tmp_path / "lstm" / "model.int8.onnx")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"quantize": "int4"}, "quantize must be None or one of"),
        ({"quantize": "int8"}, "pass validation_data="),
        ({"quantize": "int8", "validation_data": "x", "max_accuracy_drop": -1.0}, "fraction"),
    ],
)
def test_bad_quantize_arguments_name_the_value(digits, tmp_path, kwargs, match):
    with pytest.raises(errors.InvalidArgumentError, match=match):
        zoo.export(digits[0], tmp_path / "x", formats="onnx", **kwargs)


def test_static_quantization_needs_calibration(digits, tmp_path):
    model, _, validation = digits
    with pytest.raises(errors.InvalidArgumentError, match="pass calibration="):
        zoo.export(
            model, tmp_path / "x", formats="onnx", quantize="int8", validation_data=validation
        )
    assert list(tmp_path.iterdir()) == []


def test_a_gate_on_too_few_examples_is_warned_about():
    import warnings

    from zoo import exporting

    # 4 clips with nothing lost still allow a 75-point drop (rule of three).
    with pytest.warns(UserWarning, match=r"on 4 validation examples.*up to 75 points.*300"):
        exporting._warn_small_gate(4, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exporting._warn_small_gate(300, 0.01)
        exporting._warn_small_gate(60, 0.05)
        exporting._warn_small_gate(4, 0.0)  # a zero drop is checked on what there is


@pytest.mark.parametrize("weights", ["kws_res8.spoken_commands", "kws_res8_narrow.spoken_commands"])
def test_shipped_speech_models_keep_their_accuracy_in_int8(weights, tmp_path):
    """Quantized, the log-mel front end lost kws_res8 84 points (0.928 -> 0.088);
    the min/max ranges and the quantized classifier head lost kws_res8_narrow 6."""
    entry = zoo.pretrained.find(weights)
    model = zoo.get_model(entry.model, weights=weights)
    train, val = data.get_dataset(entry.dataset, model=model, batch_size=64, augment=False)
    validation = data.as_arrays(val)
    report = zoo.export(
        model,
        tmp_path / "kws",
        formats="onnx",
        inputs=validation[0][:8],
        quantize="int8",
        # As `zoo export RUN --quantize int8` calibrates: 1024 training clips.
        calibration=data.as_arrays(train.take(16), 1024)[0],
        validation_data=validation,
    )
    result = report["onnx_int8"]
    assert result.quantization == "static" and result.accuracy_drop <= 0.01
    assert len(validation[1]) == 1200  # the whole held-out-voice split
    graph = onnx.load(str(tmp_path / "kws" / "model.int8.onnx")).graph
    producer = {out: node for node in graph.node for out in node.output}
    (log,) = [node for node in graph.node if node.op_type == "Log"]
    front_end, pending = set(), list(log.input)
    while pending:
        node = producer.get(pending.pop())
        if node is not None:
            front_end.add(node.op_type)
            pending.extend(node.input)
    # The STFT convolution, power spectrum and mel filterbank stay float32.
    assert "Conv" in front_end and not {"QuantizeLinear", "DequantizeLinear"} & front_end
    logits = [n for n in graph.node if n.op_type in ("Gemm", "MatMul") and "logits" in n.name]
    # The classifier head keeps its float32 weights (no DequantizeLinear before them).
    assert logits and all(n.input[1] not in producer for n in logits)


@pytest.mark.parametrize("name, mode", [("kws_res8", "static"), ("kwt_1", "dynamic")])
def test_a_convolutional_front_end_does_not_make_a_transformer_static(name, mode, tmp_path):
    """kwt_1's STFT is a Conv, but its time is in the dense layers: dynamic, with
    the convolution left float (`ConvInteger` made it 1.5x slower than float)."""
    spec = zoo.registry.get_spec(name)
    model = zoo.get_model(name, **spec.tiny_kwargs)
    path = zoo.exporting.onnx.export_onnx(model, tmp_path / "m.onnx")
    assert quantization_mode(path) == mode
    if mode == "dynamic":
        quantize_int8(path, tmp_path / "m.int8.onnx")
        ops = _op_types(tmp_path / "m.int8.onnx")
        assert "ConvInteger" not in ops and "Conv" in ops and "MatMulInteger" in ops
