"""The `lstm` family: bidirectional LSTMs over token ids, masked mean pooling."""

import zipfile

import keras
import numpy as np
import pytest

import zoo
from zoo.layers.pooling import MaskedMeanPooling
from zoo.models import Backbone
from zoo.nlp.classifier import TextClassifier
from zoo.nlp.lstm import LSTMBackbone
from zoo.registry import get_spec

VOCAB = 30


def tiny_model(**kwargs):
    backbone = LSTMBackbone(
        vocabulary_size=VOCAB, sequence_length=16, embedding_dim=8, units=8, num_layers=2, **kwargs
    )
    return TextClassifier(backbone, num_classes=3)


def token_ids(batch=3, steps=10, seed=0):
    ids = np.random.default_rng(seed).integers(1, VOCAB, (batch, steps)).astype("int32")
    ids[min(1, batch - 1), steps // 2 :] = 0  # a shorter text, right-padded
    return ids


def predict(model, ids):
    # A direct call: predict() would retrace for every new sequence length.
    return keras.ops.convert_to_numpy(model(ids, training=False))


def lengths_ids(lengths=(1, 4, 16, 9, 0), steps=16, seed=3):
    """Right-padded ids with these real lengths: one token, full length, empty."""
    ids = np.random.default_rng(seed).integers(1, VOCAB, (len(lengths), steps)).astype("int32")
    ids[np.arange(steps)[None, :] >= np.array(lengths)[:, None]] = 0
    return ids


class MaskedLSTMBackbone(Backbone):
    """The `lstm` backbone as it was built before it dropped the Keras mask.

    A reference: the embedding masks id 0 and Keras' own `Bidirectional`
    wrappers skip the masked steps. Named `LSTMBackbone` where Keras files
    address it, so its weight files have the layout the old model wrote.
    """

    def __init__(self, vocabulary_size, embedding_dim=8, units=8, num_layers=2, **kwargs):
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        x = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True)(token_ids)
        templates = [keras.layers.LSTM(units, return_sequences=True) for _ in range(num_layers)]
        for template in templates:
            x = keras.layers.Bidirectional(template)(x)
        features = MaskedMeanPooling()([x, token_ids])
        super().__init__(inputs=token_ids, outputs=features, **kwargs)


MaskedLSTMBackbone.__name__ = "LSTMBackbone"  # the weight-file path of the old class


def masked_reference(model):
    """A masked-model classifier holding `model`'s weights."""
    reference = TextClassifier(MaskedLSTMBackbone(VOCAB), num_classes=3)
    predict(reference, token_ids())
    reference.set_weights(model.get_weights())
    return reference


def test_forward_shapes_and_probabilities():
    model = tiny_model()
    assert model.input.name == "token_ids" and model.input.dtype == "int32"
    assert model.backbone.output_shape == (None, 16)  # 2 directions x 8 units
    out = predict(model, token_ids())
    assert out.shape == (3, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_padding_is_masked():
    # Trailing padding must not change a text's prediction, at any length.
    model = tiny_model()
    ids = token_ids()
    padded = np.pad(ids, ((0, 0), (0, 6)))
    np.testing.assert_allclose(predict(model, ids), predict(model, padded), atol=1e-6)
    # Row 1 is 5 real tokens + 5 padding: same as the 5 tokens alone.
    np.testing.assert_allclose(predict(model, ids[1:2, :5]), predict(model, ids[1:2]), atol=1e-6)
    # An empty text (all padding) gives finite predictions, not NaN.
    assert np.isfinite(predict(model, np.zeros((2, 8), "int32"))).all()


def test_computes_what_the_masked_model_computes():
    # Lengths 1, 4, full (16), 9 and 0 in one batch, and the same texts with
    # 8 more padding steps: equal to the masked model with the same weights.
    model = tiny_model()
    reference = masked_reference(model)
    ids = lengths_ids()
    for batch in (ids, np.pad(ids, ((0, 0), (0, 8)))):
        features = keras.ops.convert_to_numpy(model.backbone(batch))
        expected = keras.ops.convert_to_numpy(reference.backbone(batch))
        assert np.abs(features - expected).max() <= 1e-5
        np.testing.assert_allclose(predict(model, batch), predict(reference, batch), atol=1e-5)


def test_loads_files_the_masked_model_saved(tmp_path):
    # .weights.h5 and .keras files written before the mask was dropped: the
    # layout (class names, attributes) is unchanged, so they load as they are.
    reference = masked_reference(tiny_model())
    reference.save_weights(tmp_path / "old.weights.h5")
    ids = lengths_ids()
    expected = predict(reference, ids)

    model = tiny_model()
    assert not np.allclose(predict(model, ids), expected, atol=1e-3)  # other weights until loaded
    model.load_weights(tmp_path / "old.weights.h5")
    np.testing.assert_allclose(predict(model, ids), expected, atol=1e-6)

    # A .keras file holds the config (the builder arguments, unchanged) and
    # the weights: the old file is this one with the old weights inside.
    fresh = tiny_model()
    fresh.save(tmp_path / "new.keras")
    with (
        zipfile.ZipFile(tmp_path / "new.keras") as new,
        zipfile.ZipFile(tmp_path / "old.keras", "w") as old,
    ):
        for item in new.infolist():
            data = new.read(item)
            if item.filename == "model.weights.h5":
                data = (tmp_path / "old.weights.h5").read_bytes()
            old.writestr(item, data)
    loaded = keras.saving.load_model(tmp_path / "old.keras")  # safe_mode=True
    np.testing.assert_allclose(predict(loaded, ids), expected, atol=1e-6)


def test_config_round_trip():
    model = tiny_model(dropout=0.25)
    config = model.get_config()
    assert config["backbone"]["config"]["dropout"] == 0.25
    assert TextClassifier.from_config(config).get_config() == config
    backbone_config = model.backbone.get_config()
    assert LSTMBackbone.from_config(backbone_config).get_config() == backbone_config


def test_keras_save_load_gives_identical_predictions(tmp_path):
    model = tiny_model()
    ids = token_ids()
    model.save(tmp_path / "lstm.keras")
    loaded = keras.saving.load_model(tmp_path / "lstm.keras")  # safe_mode=True
    assert isinstance(loaded, TextClassifier)
    np.testing.assert_array_equal(predict(model, ids), predict(loaded, ids))


def test_registered_defaults_and_parameter_count():
    spec = get_spec("lstm")
    assert (spec.family, spec.task, spec.modality) == ("lstm", "text_classification", "text")
    assert spec.input_spec() == {
        "modality": "text",
        "tokenizer": "word",
        "input_name": "token_ids",
        "dtype": "int32",
        "sequence_length": 256,
        "vocabulary_size": 20000,
        "padding_id": 0,
    }
    model = zoo.get_model("lstm")
    # embedding + two BiLSTMs (4 gates x (input + recurrent + bias), 2 directions) + head
    embedding = 20000 * 128
    bilstm_0 = 2 * 4 * (128 * 128 + 128 * 128 + 128)
    bilstm_1 = 2 * 4 * (256 * 128 + 128 * 128 + 128)
    head = 256 * 2 + 2
    assert model.count_params() == embedding + bilstm_0 + bilstm_1 + head == 3_217_922


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"vocabulary_size": 1}, "vocabulary_size=1"),
        ({"sequence_length": 0}, "sequence_length=0"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"dropout": -0.1}, "dropout=-0.1"),
        ({"units": 0}, "units=0"),
        ({"num_layers": 0}, "num_layers=0"),
        ({"num_classes": 0}, "num_classes=0"),
        ({"num_heads": 2}, "num_heads=2"),  # not an lstm argument
    ],
)
def test_bad_overrides_raise(overrides, match):
    with pytest.raises(zoo.InvalidArgumentError, match=match):
        zoo.get_model("lstm", **overrides)


def test_onnx_export_runs_onnx_lstm_ops_with_dynamic_batch_and_length(tmp_path):
    import onnx
    import onnxruntime

    from zoo.exporting.onnx import export_onnx

    model = tiny_model()
    export_onnx(model, tmp_path / "lstm.onnx")
    # Each direction of each layer is one ONNX LSTM (a masked LSTM becomes a
    # Loop of MatMuls). Gathers of whole rows: the embedding, and the
    # reordering before and after each backward LSTM; no element-wise
    # GatherND, which onnxruntime runs about as slowly as an LSTM.
    ops = [node.op_type for node in onnx.load(tmp_path / "lstm.onnx").graph.node]
    assert ops.count("LSTM") == 4 and "Loop" not in ops
    assert ops.count("Gather") == 1 + 2 * 2 and "GatherND" not in ops
    session = onnxruntime.InferenceSession(str(tmp_path / "lstm.onnx"))
    (onnx_input,) = session.get_inputs()
    assert (onnx_input.name, onnx_input.type) == ("token_ids", "tensor(int32)")
    reference = masked_reference(model)
    for ids in (token_ids(3, 10, seed=10), token_ids(1, 16, seed=16), lengths_ids()):
        (ort_out,) = session.run(None, {"token_ids": ids})
        np.testing.assert_allclose(ort_out, predict(model, ids), atol=1e-5)
        np.testing.assert_allclose(ort_out, predict(reference, ids), atol=1e-5)
