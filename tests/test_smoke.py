"""Every registered name builds tiny, runs forward and round-trips its config.

Parametrised over the registry, so a new model is tested the moment it is
registered (timm's approach).
"""

import copy
import numpy as np
import pytest

import zoo
from zoo.registry import get_spec


def tiny_inputs(spec, overrides, batch=2):
    """Random raw inputs of the spec: 0..255 images, or token ids with padding."""
    rng = np.random.default_rng(0)
    info = spec.input_spec(overrides)
    if info["modality"] == "text":
        ids = rng.integers(1, info["vocabulary_size"], (batch, info["sequence_length"]))
        ids[0, info["sequence_length"] // 2:] = 0  # one padded row
        ids = ids.astype("int32")
        if "input_names" in info:  # BERT: token, segment and mask ids
            return {"token_ids": ids, "segment_ids": np.zeros_like(ids),
                    "padding_mask": (ids != 0).astype("int32")}
        return ids
    return rng.uniform(0, 255, (batch, *info["shape"])).astype("float32")


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_builds_tiny_and_round_trips(name):
    spec = get_spec(name)
    assert spec.tiny_kwargs, f"{name} registers no tiny_kwargs for tests"
    model = zoo.get_model(name, **spec.tiny_kwargs)
    out = model.predict(tiny_inputs(spec, spec.tiny_kwargs), verbose=0)
    assert out.shape == (2, spec.tiny_kwargs.get("num_classes", out.shape[1]))
    assert np.isfinite(out).all()
    # Serialized (nested objects included, as `.keras` files hold them).
    import keras

    config = keras.saving.serialize_keras_object(model)["config"]
    rebuilt = type(model).from_config(copy.deepcopy(config))  # keras-hub edits its argument
    assert keras.saving.serialize_keras_object(rebuilt)["config"] == config


@pytest.mark.parametrize("name", ["resnet20", "resnet18", "lstm", "transformer_encoder_tiny",
                                  "bert_tiny"])
def test_shared_model_check_per_family_shape(name, tmp_path):
    from zoo.testing import check_model

    spec = get_spec(name)
    model = zoo.get_model(name, **spec.tiny_kwargs)
    inputs = tiny_inputs(spec, spec.tiny_kwargs, batch=4)
    labels = np.array([0, 1, 2, 1])
    report = check_model(model, inputs, labels, tmp_path)
    assert {f["format"] for f in report.to_dict()["formats"]} == {"savedmodel", "onnx"}
