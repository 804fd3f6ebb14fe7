"""Starting from a finished run directory (`weights=RUN_DIR`), and what a run records of weights."""

import json

import numpy as np
import pytest

import zoo
from zoo import pretrained, run_weights
from zoo.errors import WeightsError
from zoo.runs import trainer

TINY_LSTM = {"vocabulary_size": 50, "sequence_length": 12, "embedding_dim": 8, "units": 8}


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """A finished tiny lstm run on the embedded sentiment dataset."""
    run_dir = tmp_path_factory.mktemp("runs") / "lstm"
    zoo.train("lstm", "sentiment", run_dir, epochs=1, overrides=TINY_LSTM, verbose=0, seed=0)
    return run_dir


def test_a_run_starts_a_model_with_its_weights_and_vocabulary(text_run):
    trained = zoo.training.load_run(text_run)[1]
    model = zoo.get_model("lstm", weights=str(text_run), num_classes=3)

    assert model.output_shape == (None, 3)
    assert model.transfer_report.skipped == ("logits/kernel", "logits/bias")
    for ours, theirs in zip(trained.backbone.weights, model.backbone.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.path)
    vocabulary = (text_run / "tokenizer" / "vocabulary.txt").read_text().split("\n")
    assert list(model.zoo_vocabulary) == vocabulary[: len(model.zoo_vocabulary)]
    # The pipelines read the data with the run's vocabulary, not a new one.
    tokenizer = zoo.data.get_tokenizer("sentiment", model=model)
    assert tokenizer.vocabulary == zoo.training.load_tokenizer(text_run).vocabulary


def test_fine_tuning_from_a_relative_run_path_records_it_absolute(text_run, tmp_path, monkeypatch):
    monkeypatch.chdir(text_run.parent)
    run_dir = tmp_path / "ft"
    # 50 words leave 13% of the texts unknown: measured and named against the run.
    with pytest.warns(UserWarning, match=f"unknown to the vocabulary of run {str(text_run)!r}"):
        result = zoo.train(
            "lstm", "sentiment", run_dir, epochs=1, verbose=0, seed=0, weights="lstm"
        )

    config = json.loads((run_dir / "config.json").read_text())
    assert config["weights"] == str(text_run) and config["recipe"]["finetune"] is True
    started = config["started_from"]
    assert started["run"] == {"model": "lstm", "dataset": "sentiment"}
    assert started["sha256"] == pretrained.sha256_of(text_run / "model.keras")
    assert config["unknown_tokens"]["vocabulary_of"] == f"run {str(text_run)!r}"
    ours = zoo.training.load_tokenizer(run_dir).vocabulary
    assert ours == zoo.training.load_tokenizer(text_run).vocabulary
    assert result.model.output_shape == (None, 2)

    # A run of an earlier version recorded the path as typed: the same command resumes it.
    config["weights"] = "lstm"
    (run_dir / "config.json").write_text(json.dumps(config))
    again = zoo.train("lstm", "sentiment", run_dir, epochs=1, verbose=0, weights="lstm")
    assert again.metrics == result.metrics


def fake_run(path, **config):
    path.mkdir(parents=True)
    record = {"model": "lstm", "recipe_name": "lstm_text", "overrides": {}, **config}
    (path / "config.json").write_text(json.dumps(record))
    return str(path)


def test_a_run_of_another_model_or_unfinished_is_refused(tmp_path):
    other = fake_run(tmp_path / "r20", model="resnet20", completed=True)
    with pytest.raises(WeightsError, match=r"trained 'resnet20', not 'lstm'.*finished run of"):
        zoo.get_model("lstm", weights=other)
    unfinished = fake_run(tmp_path / "half", completed=False)
    with pytest.raises(WeightsError, match=r"has not finished training \(no model.keras\)"):
        zoo.get_model("lstm", weights=unfinished)
    # A folder that is not a run is still refused as before, naming run directories.
    with pytest.raises(WeightsError, match="a finished run directory of 'lstm'"):
        zoo.get_model("lstm", weights=str(tmp_path / "nothing"))
    assert run_weights.run_directory(tmp_path) is None


def test_a_run_records_where_its_weights_came_from(tmp_path, monkeypatch):
    # A keras-hub preset folder, a weights file, a handle: each as zoo.train records it.
    preset = tmp_path / "preset"
    preset.mkdir()
    (preset / "config.json").write_text("{}")
    (preset / "model.weights.h5").write_bytes(b"weights")
    monkeypatch.chdir(tmp_path)

    folder = pretrained.provenance("bert_tiny", "preset")
    assert folder["sha256_of"] == "folder" and len(folder["sha256"]) == 64
    (preset / "model.weights.h5").write_bytes(b"other weights")
    assert pretrained.provenance("bert_tiny", "preset")["sha256"] != folder["sha256"]
    assert pretrained.provenance("bert_tiny", "preset/model.weights.h5") == {
        "sha256": pretrained.sha256_of(preset / "model.weights.h5")
    }
    assert pretrained.provenance("bert_tiny", "hf://google/bert_uncased_L-2_H-128_A-2") == {}
    assert pretrained.recorded_weights("bert_tiny", "preset") == str(preset)
    # A tag is a tag even where a folder of that name exists.
    (tmp_path / "sentiment").mkdir()
    assert pretrained.recorded_weights("bert_tiny", "sentiment") == "sentiment"
    assert trainer._started_from("bert_tiny", "sentiment", object())["name"] == (
        "bert_tiny.sentiment"
    )
