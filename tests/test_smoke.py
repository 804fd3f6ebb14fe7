"""Every registered name builds tiny, runs forward and round-trips its config.

Parametrised over the registry, so a new model is tested the moment it is
registered (timm's approach), and one name per family goes through the
shared check (fit, save/load, verified export, the input kind's checks).
"""

import copy

import numpy as np
import pytest

import zoo
from zoo.registry import get_spec
from zoo.testing import check_registered, family_representatives


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_builds_tiny_and_round_trips(name):
    spec = get_spec(name)
    assert spec.tiny_kwargs, f"{name} registers no tiny_kwargs for tests"
    model = zoo.get_model(name, **spec.tiny_kwargs)
    # An eager call, not `predict`: tracing a 152-layer model costs seconds per
    # name, and `test_shared_model_check_per_family` runs `predict` per family.
    out = np.asarray(model(spec.input_for(spec.tiny_kwargs).random_batch(2), training=False))
    assert out.shape == (2, spec.tiny_kwargs.get("num_classes", out.shape[1]))
    assert np.isfinite(out).all()
    # Serialized (nested objects included, as `.keras` files hold them).
    import keras

    config = keras.saving.serialize_keras_object(model)["config"]
    rebuilt = type(model).from_config(copy.deepcopy(config))  # keras-hub edits its argument
    assert keras.saving.serialize_keras_object(rebuilt)["config"] == config


def test_every_family_has_a_representative():
    names = family_representatives()
    assert {get_spec(n).family for n in names} == set(zoo.registry.list_families())
    assert {"resnet20", "lstm", "transformer_encoder_tiny", "bert_tiny"} <= set(names)


# One name per family from the registry, plus the ImageNet-shaped ResNet.
@pytest.mark.parametrize("name", sorted({*family_representatives(), "resnet18"}))
def test_shared_model_check_per_family(name, tmp_path):
    report = check_registered(name, tmp_path)
    assert {f["format"] for f in report.to_dict()["formats"]} == {"savedmodel", "onnx"}
