"""AudioClassifier: raw waveforms in, any (frames, bins) backbone, the shared head."""

import json

import keras
import numpy as np
import onnxruntime
import pytest

import zoo
from zoo.inputs import AudioInput
from zoo.models import Backbone
from zoo.speech.classifier import AudioClassifier
from zoo.speech.frontend import FrontendConfig

FRONTEND = {"clip_seconds": 0.5, "num_mel_bins": 16, "features": "mfcc", "num_mfcc": 12}


@keras.saving.register_keras_serializable(package="zoo_tests")
class FramesBackbone(Backbone):
    """(frames, bins) -> a (frames, units) map, or one vector with `pooled`."""

    def __init__(self, input_shape, units=8, pooled=False, **kwargs):
        features = keras.Input(shape=tuple(input_shape))
        x = keras.layers.Conv1D(units, 3, activation="relu")(features)
        if pooled:
            x = keras.layers.GlobalMaxPooling1D()(x)
        super().__init__(inputs=features, outputs=x, **kwargs)
        self._remember_config(input_shape=list(input_shape), units=units, pooled=pooled)


def tiny_model(frontend=FRONTEND, pooled=False, **kwargs):
    backbone = FramesBackbone(AudioClassifier.feature_shape(frontend), pooled=pooled)
    return AudioClassifier(backbone, num_classes=3, frontend=frontend, **kwargs)


def clips(batch=6, samples=8000, seed=0):
    """Tones and noise, plus digital silence and a hard-clipped loud clip."""
    x = AudioInput(16000, samples / 16000).random_batch(batch, seed=seed)
    x[0] = 0.0
    x[1] = np.clip(20 * x[1], -1, 1)
    return x


def test_takes_raw_waveforms_and_reports_its_sample_rate():
    model = tiny_model()
    assert model.input.name == "waveforms" and model.input_shape == (None, None)
    assert (model.sample_rate, model.clip_seconds) == (16000, 0.5)
    assert AudioInput.from_model(model).sample_rate == 16000
    assert model.backbone.input_shape == (None, 48, 12)
    probs = model.predict(clips(), verbose=0)
    assert probs.shape == (6, 3) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # Any length: padded or cropped to the clip inside the graph.
    assert model.predict(clips(samples=3000), verbose=0).shape == (6, 3)


def test_a_feature_map_is_averaged_and_a_vector_used_as_is():
    assert "avg_pool" in [layer.name for layer in tiny_model().layers]
    assert "avg_pool" not in [layer.name for layer in tiny_model(pooled=True).layers]


def test_feature_shape_helper_matches_the_front_end():
    assert AudioClassifier.feature_shape() == (98, 40)
    assert AudioClassifier.feature_shape(FrontendConfig(**FRONTEND)) == (48, 12)


def test_a_backbone_of_the_wrong_shape_is_refused_with_the_expected_shape():
    backbone = FramesBackbone((98, 40))
    with pytest.raises(zoo.InvalidArgumentError, match=r"\(48, 12\).*\(98, 40\)"):
        AudioClassifier(backbone, num_classes=3, frontend=FRONTEND)


def test_bad_arguments_are_zoo_errors():
    backbone = FramesBackbone((48, 12))
    with pytest.raises(zoo.InvalidArgumentError, match="num_classes"):
        AudioClassifier(backbone, num_classes=0, frontend=FRONTEND)
    with pytest.raises(zoo.InvalidArgumentError, match="Unknown front-end setting"):
        AudioClassifier(backbone, num_classes=3, frontend={**FRONTEND, "hop": 10})
    with pytest.raises(zoo.InvalidArgumentError, match="frontend must be a dict"):
        AudioClassifier(backbone, num_classes=3, frontend="mfcc")


def test_config_and_keras_file_round_trip_in_safe_mode(tmp_path):
    frontend = {**FRONTEND, "time_shift_ms": 50.0, "time_masks": 1, "time_mask_frames": 4}
    model = tiny_model(frontend, dropout=0.1)
    config = keras.saving.serialize_keras_object(model)["config"]
    assert config["frontend"] == FrontendConfig(**frontend).to_dict()
    json.dumps(config)  # what a .keras file stores
    rebuilt = AudioClassifier.from_config(config)
    assert keras.saving.serialize_keras_object(rebuilt)["config"] == config
    model.save(tmp_path / "m.keras")
    loaded = zoo.saving.load_model(tmp_path / "m.keras")
    assert loaded.frontend_config == model.frontend_config and loaded.sample_rate == 16000
    x = clips()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_augmentation_acts_in_fit_only():
    augmented = {
        **FRONTEND,
        "time_shift_ms": 100.0,
        "noise_probability": 1.0,
        "time_masks": 2,
        "time_mask_frames": 5,
        "freq_masks": 2,
        "freq_mask_bins": 3,
        "seed": 0,
    }
    model, plain = tiny_model(augmented), tiny_model()
    plain.set_weights(model.get_weights())  # the front end has no weights
    x = clips()
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))
    train_out = keras.ops.convert_to_numpy(model(x, training=True))
    assert not np.allclose(train_out, plain.predict(x, verbose=0))


def test_front_end_stays_float32_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = tiny_model()
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("spectrogram").compute_dtype == "float32"
    assert model.backbone.compute_dtype == "bfloat16"
    assert np.isfinite(model.predict(clips(), verbose=0)).all()


def test_verified_export_runs_on_raw_audio_in_onnxruntime(tmp_path):
    model = tiny_model()
    x = clips()
    report = zoo.export(model, tmp_path / "out", inputs=x)
    assert report.passed, str(report)
    diffs = {f["format"]: f["max_abs_diff"] for f in report.to_dict()["formats"]}
    assert max(diffs.values()) <= 1e-4, diffs
    metadata = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert metadata["inputs"][0]["sample_rate"] == 16000
    session = onnxruntime.InferenceSession(str(tmp_path / "out" / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["waveforms"]
    short = clips(samples=5000, seed=1)  # no Python preprocessing: the graph pads
    got = session.run(None, {"waveforms": short})[0]
    assert np.abs(got - model.predict(short, verbose=0)).max() <= 1e-4
