"""Shipped weights: lookup by tag, checksum, shape conflicts, publishing."""

import shutil

import numpy as np
import pytest

import zoo
from zoo import errors, pretrained


def test_shipped_digits_weights_reach_their_recorded_accuracy():
    entry = pretrained.resolve("resnet20", "digits")
    assert entry.name == "resnet20.digits" and entry.metrics["accuracy"] >= 0.95
    assert zoo.list_models(pretrained=True) == ["resnet20"]
    assert "resnet20.digits" in str(zoo.model_info("resnet20"))

    model = zoo.get_model("resnet20", weights="digits")
    _, val = zoo.get_dataset("digits", model=model, batch_size=360, augment=False)
    images, labels = next(iter(val))
    accuracy = float(np.mean(model.predict(images, verbose=0).argmax(-1) == labels.numpy()))
    assert accuracy == pytest.approx(entry.metrics["accuracy"], abs=1e-6)


@pytest.fixture
def pretrained_copy(tmp_path, monkeypatch):
    """A private copy of pretrained/ that a test may damage."""
    copy = tmp_path / "pretrained"
    shutil.copytree(pretrained.pretrained_dir(), copy)
    monkeypatch.setenv("ZOO_PRETRAINED_DIR", str(copy))
    pretrained._load_manifest.cache_clear()
    yield copy
    pretrained._load_manifest.cache_clear()


def test_tampered_weights_fail_their_checksum(pretrained_copy):
    path = pretrained_copy / "resnet20.digits.weights.h5"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(errors.WeightsError, match="fails its checksum"):
        zoo.get_model("resnet20", weights="digits")


@pytest.mark.parametrize(
    "weights, overrides, match",
    [
        ("imagenet", {}, "Available tags: 'digits'"),
        ("digits", {"preact": True}, "stem_bn/gamma"),
        ("missing/file.weights.h5", {}, "not found"),
    ],
)
def test_bad_weight_requests_name_the_value(weights, overrides, match):
    with pytest.raises(errors.WeightsError, match=match):
        zoo.get_model("resnet20", weights=weights, **overrides)


def test_publish_run_adds_a_loadable_entry(tmp_path):
    run_dir = tmp_path / "run"
    zoo.train("resnet20", "digits", run_dir, epochs=1, verbose=0)
    entry = zoo.runs.publish_run(run_dir, "quick", directory=tmp_path / "weights")
    assert entry.name == "resnet20.quick" and entry.kwargs["input_shape"] == [8, 8, 1]
    assert (tmp_path / "weights" / "manifest.json").is_file()
    with pytest.raises(errors.WeightsError, match="tag='bad tag'"):
        zoo.runs.publish_run(run_dir, "bad tag", directory=tmp_path / "weights")
