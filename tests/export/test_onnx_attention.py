"""ONNX export writes each Keras attention core as one fused MultiHeadAttention, still exact."""

import collections

import keras
import keras_hub
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import zoo
from zoo.exporting.onnx import export_onnx
from zoo.exporting.onnx_attention import fuse_attention


def _ops(path) -> collections.Counter:
    return collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def _with_empty_text(inputs):
    """The first example all padding: every key of every query masked."""
    inputs = {k: np.array(v) for k, v in inputs.items()} if isinstance(inputs, dict) else inputs
    if isinstance(inputs, dict):
        inputs["padding_mask"][0] = 0
        inputs["token_ids"][0] = 0
    else:
        inputs = np.array(inputs)
        inputs[0] = 0
    return inputs


@pytest.mark.parametrize("name", ["transformer_encoder_tiny", "bert_tiny"])
def test_text_encoder_export_fuses_attention_and_matches_keras(name, tmp_path):
    spec = zoo.registry.get_spec(name)
    # Logits, not probabilities: a softmax would hide an attention error.
    model = zoo.get_model(name, **spec.tiny_kwargs, classifier_activation=None)
    inputs = _with_empty_text(spec.input_for(spec.tiny_kwargs).random_batch(4, seed=3))
    report = zoo.export(model, tmp_path / name, formats="onnx", inputs=inputs, atol=1e-4)
    (result,) = report.formats
    # Verified in a clean process: plain onnxruntime, no zoo, no TensorFlow.
    assert report.passed and result.max_abs_diff <= 1e-4 and result.argmax_agreement == 1.0
    ops = _ops(result.path)
    assert ops["MultiHeadAttention"] == 2  # one per transformer block
    # The score tensor's own kernels are gone: no Softmax is left (logits out).
    assert "Softmax" not in ops


def _keras_hub_block(layer, masked):
    """A model of one keras-hub block over a dynamic sequence length, as the
    zoo's text models have, and inputs whose last example is all padding."""
    inputs = {"x": keras.Input((None, 16), name="x")}
    if masked:
        inputs["mask"] = keras.Input((None,), dtype="bool", name="mask")
    x = layer(inputs["x"], inputs.get("mask"))
    # The first and last token: the last is padding in two of the examples.
    x = keras.layers.Concatenate()([x[:, 0], x[:, -1]])
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    x = np.random.default_rng(0).normal(0, 2, (3, 6, 16)).astype("float32")
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2, [0] * 6], bool)
    return model, {"x": x, "mask": mask} if masked else {"x": x}


def _encoder(dropout):
    def block(x, mask):
        return keras_hub.layers.TransformerEncoder(32, 2, dropout=dropout)(x, padding_mask=mask)

    return block


def _causal_decoder(x, mask):
    layer = keras_hub.layers.TransformerDecoder(32, 2, dropout=0.1)
    return layer(x, decoder_padding_mask=mask)


@pytest.mark.parametrize(
    "layer, masked, fused",
    [
        # With attention dropout, Keras' MultiHeadAttention computes its core
        # step by step (the zoo's encoders and BERT): fused, masked or not.
        (_encoder(dropout=0.1), True, 1),
        (_encoder(dropout=0.1), False, 1),
        # Without dropout it calls `ops.dot_product_attention`; unmasked, the
        # export traces the same function step by step, and fuses it.
        (_encoder(dropout=0.0), False, 1),
        # Masked, the two forms differ where every key is masked (a uniform
        # row, not zeros): that form stays as tf2onnx wrote it.
        (_encoder(dropout=0.0), True, 0),
        # A causal mask differs per query; the fused node's key padding mask
        # cannot say that.
        (_causal_decoder, True, 0),
    ],
)
def test_keras_attention_is_fused_only_in_the_form_it_matches_and_stays_exact(
    layer, masked, fused, tmp_path
):
    model, feeds = _keras_hub_block(layer, masked)
    path = export_onnx(model, tmp_path / "m.onnx")
    assert _ops(path)["MultiHeadAttention"] == fused
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name.split(":")[0]: i.name for i in session.get_inputs()}
    out = session.run(None, {names[k]: v for k, v in feeds.items()})[0]
    np.testing.assert_allclose(out, model.predict_on_batch(feeds), atol=1e-5)


# kwt_1 has one head: tf2onnx writes its head split as a Reshape, not a Transpose.
@pytest.mark.parametrize("name", ["kwt_1", "kwt_2"])
def test_keyword_transformer_export_fuses_every_block_and_leaves_the_model_as_it_was(
    name, tmp_path
):
    """kwt_* attend without dropout (Keras' `dot_product_attention` form, about
    25 shape nodes a block in tf2onnx's lowering): exported step by step, fused."""
    spec = zoo.registry.get_spec(name)
    model = zoo.get_model(name, **spec.tiny_kwargs, classifier_activation=None)
    config = model.get_config()
    inputs = spec.input_for(spec.tiny_kwargs).random_batch(3, seed=0)
    report = zoo.export(model, tmp_path / "kwt", formats="onnx", inputs=inputs, atol=1e-4)
    (result,) = report.formats
    assert report.passed and result.max_abs_diff <= 1e-4 and result.argmax_agreement == 1.0
    ops = _ops(result.path)
    assert ops["MultiHeadAttention"] == spec.tiny_kwargs["num_layers"]
    assert "ReduceProd" not in ops  # the einsum lowering's shape arithmetic
    # The traced form is the export's business: the model keeps its own.
    attention = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.MultiHeadAttention)
    ]
    assert attention and all(layer._dropout == 0.0 for layer in attention)
    assert all("_compute_attention" not in vars(layer) for layer in attention)
    assert model.get_config() == config


def test_masked_fusion_loads_at_opset_18(tmp_path):
    """From opset 18 ReduceMax takes its axes as an input, not an attribute."""
    model, feeds = _keras_hub_block(_encoder(dropout=0.1), masked=True)
    path = export_onnx(model, tmp_path / "m.onnx", opset=18)
    assert _ops(path)["MultiHeadAttention"] == 1
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name.split(":")[0]: i.name for i in session.get_inputs()}
    out = session.run(None, {names[k]: v for k, v in feeds.items()})[0]
    np.testing.assert_allclose(out, model.predict_on_batch(feeds), atol=1e-5)


def test_a_graph_without_attention_is_left_alone(tmp_path):
    model = zoo.get_model("lstm", **zoo.registry.get_spec("lstm").tiny_kwargs)
    path = export_onnx(model, tmp_path / "lstm.onnx")
    graph = onnx.load(str(path))
    before = graph.SerializeToString()
    assert fuse_attention(graph) == 0
    assert graph.SerializeToString() == before
