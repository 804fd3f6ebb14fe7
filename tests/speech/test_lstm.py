"""kws_lstm: its documented size and framing, and an ONNX export with ONNX's LSTM op."""

import collections

import keras
import numpy as np
import onnx
import pytest

import zoo
from zoo.exporting import export
from zoo.inputs import AudioInput
from zoo.registry import get_spec
from zoo.speech.lstm import KWSLSTMBackbone


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_documented_size_and_hello_edge_framing():
    model = zoo.get_model("kws_lstm")
    # Two LSTMs of 128 units over 40 bands, a 12-class head (the module docstring).
    assert trainable(model) == 4 * (128 * (40 + 128) + 128) + 4 * (128 * 256 + 128) + 128 * 12 + 12
    assert trainable(model) == 219_660
    config = model.frontend_config
    assert (config.features, config.num_mel_bins, config.window_ms, config.hop_ms) == (
        "log_mel",
        40,
        40.0,
        20.0,
    )
    assert model.backbone.input_shape == (None, 49, 40)
    assert model.backbone.output_shape == (None, 128)  # the last frame's output
    assert (config.time_shift_ms, config.noise_probability) == (100.0, 0.8)
    names = [layer.name for layer in zoo.get_model("kws_lstm", augment=False).layers]
    assert "time_shift" not in names and "background_noise" not in names


def test_options_and_config_round_trip():
    backbone = KWSLSTMBackbone((20, 8), units=6, num_layers=3, dropout=0.2)
    lstms = [layer for layer in backbone.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.return_sequences for layer in lstms] == [True, True, False]
    config = backbone.get_config()
    assert KWSLSTMBackbone.from_config(config).get_config() == config
    model = zoo.get_model("kws_lstm", frontend={"hop_ms": 10.0}, units=32)
    assert model.backbone.input_shape == (None, 97, 40)


def test_bad_arguments_are_named():
    with pytest.raises(zoo.InvalidArgumentError, match="input_shape"):
        KWSLSTMBackbone((49,))
    with pytest.raises(zoo.InvalidArgumentError, match="units"):
        KWSLSTMBackbone((49, 40), units=0)
    with pytest.raises(zoo.InvalidArgumentError, match="augment"):
        zoo.get_model("kws_lstm", augment="no")


def test_registered_with_recipes_for_both_datasets():
    spec = get_spec("kws_lstm")
    assert (spec.family, spec.task, spec.default_dataset) == (
        "kws_lstm",
        "audio_classification",
        "speech_commands",
    )
    assert zoo.get_recipe(spec.recipe).name == "speech_commands_lstm"
    assert spec.recipe_for("spoken_commands") == "spoken_commands_lstm"


def test_onnx_export_uses_the_lstm_op(tmp_path):
    # kws_lstm's full shared check runs in tests/test_smoke.py (the family's
    # representative); this looks inside the ONNX file. No mask, so tf2onnx
    # emits ONNX's LSTM op (the fast path) rather than a Loop.
    spec = get_spec("kws_lstm")
    model = zoo.get_model("kws_lstm", **dict(spec.tiny_kwargs, num_layers=2))
    clips = AudioInput(16000, 0.25).random_batch(4)
    clips[0] = 0.0  # digital silence
    clips[1] = np.clip(20 * clips[1], -1, 1)  # hard clipping
    report = export(model, tmp_path / "export", formats=("onnx",), inputs=clips)
    assert report["onnx"].max_abs_diff <= 1e-5
    graph = onnx.load(tmp_path / "export" / "model.onnx").graph
    ops = collections.Counter(node.op_type for node in graph.node)
    assert ops["LSTM"] == 2 and not ops["Loop"] and not ops["Scan"], ops
