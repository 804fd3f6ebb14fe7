"""The `transformer_encoder_*` family: pre-norm keras-hub encoders over token ids."""

import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo.nlp.classifier import TextClassifier
from zoo.nlp.transformer import SIZES, TransformerEncoderBackbone
from zoo.registry import get_spec

VOCAB = 30


def tiny_model(**kwargs):
    config = dict(
        vocabulary_size=VOCAB,
        sequence_length=16,
        hidden_dim=8,
        num_layers=2,
        num_heads=2,
        intermediate_dim=16,
        dropout=0.0,
    )
    config.update(kwargs)
    return TextClassifier(TransformerEncoderBackbone(**config), num_classes=3)


def token_ids(batch=3, steps=10, seed=0):
    ids = np.random.default_rng(seed).integers(1, VOCAB, (batch, steps)).astype("int32")
    ids[min(1, batch - 1), steps // 2 :] = 0  # a shorter text, right-padded
    return ids


def predict(model, ids):
    # A direct call: predict() would retrace for every new sequence length.
    return keras.ops.convert_to_numpy(model(ids, training=False))


def test_forward_shapes_and_probabilities():
    model = tiny_model()
    assert model.input.name == "token_ids" and model.input.dtype == "int32"
    assert model.backbone.output_shape == (None, 8)
    out = predict(model, token_ids())
    assert out.shape == (3, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_padding_is_masked():
    # Padded keys are excluded from attention and padded steps from pooling,
    # so trailing padding leaves a text's prediction unchanged.
    model = tiny_model()
    ids = token_ids()
    padded = np.pad(ids, ((0, 0), (0, 6)))
    np.testing.assert_allclose(predict(model, ids), predict(model, padded), atol=1e-6)
    np.testing.assert_allclose(predict(model, ids[1:2, :5]), predict(model, ids[1:2]), atol=1e-6)
    assert np.isfinite(predict(model, np.zeros((2, 8), "int32"))).all()


def test_config_round_trip():
    model = tiny_model(dropout=0.1)
    config = model.get_config()
    assert config["backbone"]["config"]["num_heads"] == 2
    assert TextClassifier.from_config(config).get_config() == config
    backbone_config = model.backbone.get_config()
    assert TransformerEncoderBackbone.from_config(backbone_config).get_config() == backbone_config


def test_keras_save_load_gives_identical_predictions(tmp_path):
    model = tiny_model()
    ids = token_ids()
    model.save(tmp_path / "encoder.keras")
    loaded = keras.saving.load_model(tmp_path / "encoder.keras")  # safe_mode=True
    assert isinstance(loaded.backbone, TransformerEncoderBackbone)
    np.testing.assert_array_equal(predict(model, ids), predict(loaded, ids))


def test_registered_sizes():
    for size in SIZES:
        spec = get_spec(f"transformer_encoder_{size}")
        assert spec.family == "transformer_encoder" and spec.recipe == "transformer_text"
        assert spec.input_spec(spec.tiny_kwargs)["sequence_length"] == 12
    assert SIZES["base"] == (12, 768, 12, 3072)  # BERT-base shape
    model = zoo.get_model(
        "transformer_encoder_tiny", **get_spec("transformer_encoder_tiny").tiny_kwargs
    )
    backbone = model.backbone
    assert (backbone.num_layers, backbone.hidden_dim, backbone.num_heads) == SIZES["tiny"][:3]


def encoder_params(vocabulary_size, sequence_length, num_layers, hidden, intermediate, classes):
    embeddings = (vocabulary_size + sequence_length) * hidden
    attention = 4 * (hidden * hidden + hidden)  # query, key, value, output
    ffn = hidden * intermediate + intermediate + intermediate * hidden + hidden
    block = attention + ffn + 2 * 2 * hidden  # two LayerNorms
    return embeddings + num_layers * block + 2 * hidden + hidden * classes + classes


def test_parameter_counts_match_the_analytic_count():
    for size in ("tiny", "small"):
        num_layers, hidden, _, intermediate = SIZES[size]
        model = zoo.get_model(f"transformer_encoder_{size}")
        assert model.count_params() == encoder_params(
            20000, 256, num_layers, hidden, intermediate, 2
        )
    # Building base (100M parameters) takes seconds; its count was checked
    # against the built model once and is pinned through the same formula.
    assert encoder_params(20000, 256, 12, 768, 3072, 2) == 100_614_146


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"vocabulary_size": 1}, "vocabulary_size=1"),
        ({"sequence_length": 0}, "sequence_length=0"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"num_classes": 0}, "num_classes=0"),
        ({"hidden_dim": 64}, "hidden_dim=64"),  # the name fixes the size
    ],
)
def test_bad_overrides_raise(overrides, match):
    with pytest.raises(zoo.InvalidArgumentError, match=match):
        zoo.get_model("transformer_encoder_tiny", **overrides)


def test_heads_must_divide_width():
    with pytest.raises(zoo.InvalidArgumentError, match="hidden_dim=10, num_heads=4"):
        tiny_model(hidden_dim=10, num_heads=4)


def test_import_and_listing_do_not_import_keras_hub():
    code = (
        "import sys, zoo; zoo.list_models(); zoo.registry.get_spec("
        "'transformer_encoder_base').input_spec(); print('keras_hub' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_onnx_export_has_dynamic_batch_and_length(tmp_path):
    import onnxruntime

    model = tiny_model()
    predict(model, token_ids())
    model.export(str(tmp_path / "encoder.onnx"), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(tmp_path / "encoder.onnx"))
    (onnx_input,) = session.get_inputs()
    assert (onnx_input.name, onnx_input.type) == ("token_ids", "tensor(int32)")
    for batch, steps in ((3, 10), (1, 16)):
        ids = token_ids(batch, steps, seed=steps)
        (ort_out,) = session.run(None, {"token_ids": ids})
        np.testing.assert_allclose(ort_out, predict(model, ids), atol=1e-4)
