"""Dense layers written as MatMul + Add: same outputs, and dynamic int8 quantizes them."""

import collections

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import zoo
from zoo import data
from zoo.exporting.onnx_gemm import gemms_as_matmuls


def _ops(model) -> collections.Counter:
    return collections.Counter(node.op_type for node in model.graph.node)


def _run(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def _gemm_graph(rng, **attributes):
    """One Gemm `y = x @ W(^T) + b` with constant weights, as tf2onnx or a user writes it."""
    transposed = attributes.get("transB", 0)
    weights = rng.standard_normal((3, 5) if transposed else (5, 3)).astype("float32")
    bias = rng.standard_normal(3).astype("float32")
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="dense", **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("transposed", [0, 1])
def test_a_plain_gemm_becomes_matmul_and_add_with_equal_outputs(transposed):
    rng = np.random.default_rng(0)
    model = _gemm_graph(rng, transB=transposed)
    x = {"x": rng.standard_normal((4, 5)).astype("float32")}
    before = _run(model, x)
    assert gemms_as_matmuls(model) == 1
    onnx.checker.check_model(model)
    assert _ops(model) == {"MatMul": 1, "Add": 1}
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-6, atol=1e-6)


def test_a_scaled_gemm_is_left_as_it_is():
    model = _gemm_graph(np.random.default_rng(1), alpha=0.5)
    before = model.SerializeToString()
    assert gemms_as_matmuls(model) == 0
    assert model.SerializeToString() == before


def test_transformer_int8_quantizes_its_dense_layers_and_keeps_accuracy(tmp_path):
    """Before the rewrite the feed-forward and projection Gemms stayed float32."""
    name = "transformer_encoder_tiny"
    model = zoo.get_model(name, weights=f"{name}.sentiment")
    tokenizer = zoo.pretrained_tokenizer(name, f"{name}.sentiment")
    _, val = data.get_dataset(
        "sentiment", model=model, batch_size=250, augment=False, tokenizer=tokenizer
    )
    report = zoo.export(
        model,
        tmp_path / "t",
        formats="onnx",
        inputs=data.text_examples("sentiment", 8),
        tokenizer=tokenizer,
        quantize="int8",
        validation_data=data.as_arrays(val),
    )
    result = report["onnx_int8"]
    assert result.quantization == "dynamic" and result.accuracy_drop <= 0.01, result
    float_graph = onnx.load(str(tmp_path / "t" / "model.onnx"))
    floats = _ops(float_graph)
    quantized = _ops(onnx.load(str(tmp_path / "t" / "model.int8.onnx")))
    # tf2onnx writes keras-hub's attention projections (EinsumDense) as Gemm.
    assert floats["Gemm"] > 0 and quantized["Gemm"] == 0
    assert quantized["MatMulInteger"] >= floats["Gemm"]

    # The float graph, rewritten, computes what it computed.
    ids = {float_graph.graph.input[0].name: data.as_arrays(val)[0][:16]}
    before = _run(float_graph, ids)
    assert gemms_as_matmuls(float_graph) > 0
    np.testing.assert_allclose(_run(float_graph, ids), before, atol=1e-6)
