"""ONNX export writes one LayerNormalization node per Keras LayerNorm, still exact."""

import collections

import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import zoo
from zoo.exporting.onnx import export_onnx
from zoo.exporting.onnx_layernorm import fuse_layer_norms


def _ops(path) -> collections.Counter:
    return collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)


@pytest.mark.parametrize(
    "name, layer_norms",
    # 2 blocks x 2 + the final norm; BERT: the embeddings' + 2 blocks x 2.
    [("transformer_encoder_tiny", 5), ("bert_tiny", 5)],
)
def test_transformer_export_has_layer_norm_nodes_and_matches_keras(name, layer_norms, tmp_path):
    spec = zoo.registry.get_spec(name)
    # Logits, not probabilities: a softmax would hide a LayerNorm error.
    model = zoo.get_model(name, **spec.tiny_kwargs, classifier_activation=None)
    inputs = spec.input_for(spec.tiny_kwargs).random_batch(4, seed=3)
    report = zoo.export(model, tmp_path / name, formats="onnx", inputs=inputs, atol=1e-4)
    (result,) = report.formats
    # Verified in a clean process: plain onnxruntime, no zoo, no TensorFlow.
    assert report.passed and result.max_abs_diff <= 1e-4 and result.argmax_agreement == 1.0
    ops = _ops(result.path)
    assert ops["LayerNormalization"] == layer_norms
    # The spelled-out moments (GlobalAveragePool means, Sqrt, Reciprocal) are gone.
    assert not {"GlobalAveragePool", "ReduceMean", "Sqrt", "Reciprocal"} & set(ops)


def _keras_with_norm(axis):
    inputs = keras.Input((5, 8))
    x = keras.layers.Dense(8)(inputs)
    norm = keras.layers.LayerNormalization(axis=axis, epsilon=1e-3)
    x = norm(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    rng = np.random.default_rng(0)
    # Trained-looking scale and offset, so a wrong gamma or beta shows.
    norm.gamma.assign(rng.normal(1.0, 0.5, norm.gamma.shape))
    norm.beta.assign(rng.normal(0.0, 0.5, norm.beta.shape))
    return model, rng.normal(0, 3, (2, 5, 8)).astype("float32")


@pytest.mark.parametrize("axis, fused", [(-1, 1), (1, 0)])
def test_only_last_axis_norms_are_fused_and_outputs_stay_equal(axis, fused, tmp_path):
    """A LayerNorm over another axis is not what `LayerNormalization(axis=-1)`
    computes: it stays as tf2onnx wrote it."""
    model, x = _keras_with_norm(axis)
    path = export_onnx(model, tmp_path / "m.onnx")
    assert _ops(path)["LayerNormalization"] == fused
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(out, model.predict_on_batch(x), atol=1e-5)


def test_a_graph_without_keras_layer_norms_is_left_alone(tmp_path):
    model = zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=3)
    path = export_onnx(model, tmp_path / "r20.onnx")
    graph = onnx.load(str(path))
    before = graph.SerializeToString()
    assert fuse_layer_norms(graph) == 0
    assert graph.SerializeToString() == before


@pytest.mark.parametrize("center", [True, False])
def test_a_zero_beta_norm_is_fused_too(center, tmp_path):
    """tf2onnx drops the add of an all-zeros beta (an untrained LayerNorm, or
    `center=False`): kwt_1 exported at initialization kept 24 norms unfused."""
    inputs = keras.Input((5, 8))
    x = keras.layers.LayerNormalization(center=center, epsilon=1e-3)(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    x = np.random.default_rng(0).normal(0, 3, (2, 5, 8)).astype("float32")
    path = export_onnx(model, tmp_path / "m.onnx")
    assert _ops(path)["LayerNormalization"] == 1
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(out, model.predict_on_batch(x), atol=1e-5)
