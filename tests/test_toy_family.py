"""A family defined outside the package goes through every shared path unchanged."""

import json

import numpy as np
import pytest

import zoo
from zoo.testing import check_registered, family_representatives


def test_toy_family_is_listed_and_checked(toy_family, tmp_path):
    assert "toy_cnn" in zoo.list_models(task="image_classification")
    assert "toy_cnn" in family_representatives()
    card = zoo.model_info("toy_cnn")
    assert card.recipe == "digits_toy" and card.input_spec["shape"] == [8, 8, 1]
    report = check_registered("toy_cnn", tmp_path)
    assert report.passed


@pytest.mark.slow
def test_toy_family_trains_evaluates_and_exports(toy_family, tmp_path):
    result = zoo.train("toy_cnn", "digits", tmp_path / "run", verbose=0, seed=0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["recipe_name"] == "digits_toy"  # the spec's recipe for this dataset
    assert result.metrics["accuracy"] >= 0.8, result.metrics
    assert zoo.evaluate(tmp_path / "run")["accuracy"] == pytest.approx(result.metrics["accuracy"])
    report = zoo.training.export_run(tmp_path / "run", tmp_path / "export", examples=16)
    assert report.passed and report.inputs == "given"
    metadata = json.loads((tmp_path / "export" / "metadata.json").read_text())
    assert metadata["inputs"][0]["value_range"] == [0.0, 255.0]
    assert np.isfinite(metadata["metrics"]["accuracy"])
