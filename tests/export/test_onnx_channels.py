"""ONNX export widens odd-width convolution chains to whole blocks of 16 channels, exactly."""

import collections

import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import zoo
from zoo.exporting.onnx import export_onnx
from zoo.exporting.onnx_channels import BLOCK, is_widened, pad_conv_channels


def _conv_filters(path) -> list:
    graph = onnx.load(str(path)).graph
    weights = {t.name: t for t in graph.initializer}
    return [weights[n.input[1]].dims[0] for n in graph.node if n.op_type == "Conv"]


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _trained_looking(model, seed=0):
    """Batch-norm statistics and offsets away from their initial values, so
    that their constants (and a wrong padding of them) show in the outputs."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        if weight.path.endswith(("beta", "moving_mean")):
            weight.assign(rng.normal(0, 0.3, weight.shape))
        elif weight.path.endswith("moving_variance"):
            weight.assign(rng.uniform(0.5, 2.0, weight.shape))
    return model


def test_keyword_spotter_export_is_widened_and_verified(tmp_path, monkeypatch):
    """kws_res8's maps (4 in the tiny config, 45 in the paper) become 16: each
    convolution reads and writes whole blocks, each batch norm after a ReLU is
    one BatchNormalization node, and the outputs stay those of Keras."""
    spec = zoo.registry.get_spec("kws_res8")
    model = _trained_looking(zoo.get_model("kws_res8", **spec.tiny_kwargs))
    inputs = spec.input_for(spec.tiny_kwargs).random_batch(4, seed=1)
    report = zoo.export(model, tmp_path / "kws", formats="onnx", inputs=inputs, atol=1e-5)
    (result,) = report.formats
    assert report.passed and result.max_abs_diff <= 1e-5 and result.argmax_agreement == 1.0
    assert is_widened(result.path)
    stft, *backbone = _conv_filters(result.path)
    assert backbone and all(filters == BLOCK for filters in backbone)
    ops = collections.Counter(n.op_type for n in onnx.load(str(result.path)).graph.node)
    batch_norms = [layer for layer in model.backbone.layers if "bn" in layer.name]
    assert ops["BatchNormalization"] == len(batch_norms) > 0
    # Against the same graph unwidened: the extra channels add exactly nothing.
    plain = export_onnx(model, tmp_path / "plain.onnx", widen_channels=False)
    assert not is_widened(plain) and _conv_filters(plain)[1:] == [4] * len(backbone)
    np.testing.assert_allclose(_run(result.path, inputs), _run(plain, inputs), atol=1e-6)


def _odd_cnn():
    """Convolutions of 5 and 6 filters, a residual sum, a batch norm after a
    ReLU, pooling, and a widened tensor that also feeds a sigmoid (not a
    channel-wise op the widening follows) and a graph output."""
    inputs = keras.Input((12, 10, 3))
    x = keras.layers.Conv2D(5, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    y = keras.layers.Conv2D(5, 3, padding="same", activation="relu")(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(6, 3, padding="same", use_bias=False)(x)
    gate = keras.layers.Activation("sigmoid")(x)
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Multiply()([x, gate]))
    logits = keras.layers.Dense(4)(pooled)
    return _trained_looking(keras.Model(inputs, [logits, x]))


def test_widening_follows_channel_wise_ops_and_slices_back_for_the_rest(tmp_path):
    model = _odd_cnn()
    x = np.random.default_rng(0).normal(0, 1, (3, 12, 10, 3)).astype("float32")
    plain = export_onnx(model, tmp_path / "plain.onnx", widen_channels=False)
    widened = onnx.load(str(plain))
    assert pad_conv_channels(widened) == 3
    onnx.checker.check_model(widened, full_check=True)
    onnx.save(widened, str(tmp_path / "widened.onnx"))
    assert _conv_filters(tmp_path / "widened.onnx") == [BLOCK] * 3
    # The graph's outputs keep their names and shapes (6 channels, not 16).
    sessions = [
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        for p in (plain, tmp_path / "widened.onnx")
    ]
    names = [[o.name for o in s.get_outputs()] for s in sessions]
    assert names[0] == names[1]
    name = sessions[0].get_inputs()[0].name
    outputs = [s.run(None, {name: x}) for s in sessions]
    for before, after in zip(*outputs):
        assert before.shape == after.shape
        np.testing.assert_allclose(after, before, atol=1e-6)
    expected = model.predict_on_batch(x)
    np.testing.assert_allclose(outputs[1][0], expected[0], atol=1e-5)
    # Slices where the sigmoid and the graph output read the 6 channels.
    assert any(n.op_type == "Slice" and n.name.endswith("/channels") for n in widened.graph.node)


def test_zero_filters_and_weights_are_what_is_added(tmp_path):
    model = _odd_cnn()
    widened = onnx.load(str(export_onnx(model, tmp_path / "m.onnx")))
    weights = {t.name: numpy_helper.to_array(t) for t in widened.graph.initializer}
    convs = [n for n in widened.graph.node if n.op_type == "Conv"]
    first, second = (weights[c.input[1]] for c in convs[:2])
    # The first reads the 3 image channels and adds 11 zero filters; the
    # second also gets zero weights for the 11 channels it now reads.
    assert first.shape == (16, 3, 3, 3) and not first[5:].any() and first[:5].any()
    assert second.shape == (16, 16, 3, 3) and not second[5:].any() and not second[:, 5:].any()


@pytest.mark.parametrize(
    "build",
    [
        # A lone odd convolution: widening would only add a Slice.
        lambda: keras.Sequential(
            [keras.Input((8, 8, 3)), keras.layers.Conv2D(5, 3), keras.layers.Flatten()]
        ),
        # Whole blocks already (resnet-style widths).
        lambda: keras.Sequential(
            [keras.Input((8, 8, 3)), keras.layers.Conv2D(16, 3), keras.layers.Conv2D(32, 3)]
        ),
        # Grouped convolutions cannot be widened channel by channel.
        lambda: keras.Sequential(
            [keras.Input((8, 8, 6)), keras.layers.Conv2D(6, 3, groups=3), keras.layers.Conv2D(6, 3)]
        ),
    ],
)
def test_graphs_with_nothing_to_gain_are_left_alone(build, tmp_path):
    path = export_onnx(build(), tmp_path / "m.onnx", widen_channels=False)
    graph = onnx.load(str(path))
    before = graph.SerializeToString()
    assert pad_conv_channels(graph) == 0
    assert graph.SerializeToString() == before
