"""Pretrain, then fine-tune: `zoo pretrain` on unlabeled text, `zoo train --weights RUN`."""

import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.cli import main

LENGTH = 16  # the sentiment texts' length; the pretraining reads 24 positions


def sentiment_texts():
    train, _ = zoo.data.text.text_splits("sentiment")
    return [t.decode() for t, _ in train.as_numpy_iterator()]


@pytest.fixture(scope="module")
def mlm_run(tmp_path_factory):
    """A masked-LM pretraining run of transformer_encoder_tiny on the 4,000 sentiment texts."""
    folder = tmp_path_factory.mktemp("runs")
    (folder / "reviews.txt").write_text("\n".join(sentiment_texts()) + "\n")
    run_dir = folder / "mlm"
    args = ["pretrain", "transformer_encoder_tiny", "--corpus", "reviews.txt", "--out", "mlm"]
    args += ["--epochs", "3", "--seed", "0", "--set", "sequence_length=24"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # a relative corpus path, as typed
        assert main(args) == 0
    return run_dir


def test_pretraining_learns_to_fill_in_masked_words(mlm_run, capsys):
    config = json.loads((mlm_run / "config.json").read_text())
    assert config["task"] == "masked_lm" and config["completed"]
    assert config["dataset"] == str(mlm_run.parent / "reviews.txt")  # read from anywhere
    vocabulary = (mlm_run / "tokenizer" / "vocabulary.txt").read_text().split()
    assert vocabulary[-1] == "[MASK]" and config["overrides"]["vocabulary_size"] == len(vocabulary)
    # Guessing the most frequent word at every mask scores its share of the tokens.
    words = Counter(w for text in sentiment_texts() for w in text.split())
    frequent = words.most_common(1)[0][1] / sum(words.values())
    accuracy = config["metrics"]["accuracy"]
    assert accuracy >= 2 * frequent, (accuracy, frequent)
    assert config["metrics"]["examples"] == 400  # every tenth line held out

    # The same command again finds the finished run; more epochs are another run.
    corpus = mlm_run.parent / "reviews.txt"
    again = zoo.pretrain(
        "transformer_encoder_tiny", corpus, mlm_run, epochs=3, overrides={"sequence_length": 24}
    )
    assert again.already_complete and again.metrics == config["metrics"]
    with pytest.raises(errors.RunDirError, match="finished run of 3 epochs; received epochs=4"):
        zoo.pretrain(
            "transformer_encoder_tiny", corpus, mlm_run, epochs=4, overrides={"sequence_length": 24}
        )

    # A pretraining run has no classifier: evaluate says how to fine-tune from it.
    with pytest.raises(errors.RunDirError, match=r"masked_lm pretraining run .* --weights"):
        zoo.evaluate(mlm_run)


def test_fine_tuning_starts_from_the_pretrained_encoder(mlm_run, tmp_path):
    pretrained = zoo.load_model(mlm_run / "model.keras", compile=False).backbone
    model = zoo.get_model("transformer_encoder_tiny", weights=str(mlm_run), num_classes=3)
    for ours, theirs in zip(pretrained.weights, model.backbone.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.path)
    assert model.transfer_report.skipped == ("logits/kernel", "logits/bias")
    assert model.zoo_vocabulary[-1] == "[MASK]"
    # Built for other lengths, the model takes the trained rows of the position table.
    rows = position_table(pretrained)
    for length in (LENGTH, 32):
        other = zoo.get_model(
            "transformer_encoder_tiny", weights=str(mlm_run), sequence_length=length
        )
        kept = position_table(other.backbone)
        assert kept.shape == (length, rows.shape[1])
        np.testing.assert_array_equal(kept[:24], rows[:length])

    # zoo train fits the model to sentiment's 16 tokens, and the run's tokenizer with it.
    result = zoo.train(
        "transformer_encoder_tiny", "sentiment", tmp_path / "ft", epochs=1, verbose=0,
        seed=0, weights=str(mlm_run),
    )  # fmt: skip
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert config["started_from"]["adapted"] == ["embeddings/position_embedding/embeddings"]
    assert config["overrides"]["sequence_length"] == LENGTH
    assert result.model.backbone.sequence_length == LENGTH
    assert zoo.training.load_tokenizer(tmp_path / "ft").sequence_length == LENGTH
    assert zoo.training.load_tokenizer(tmp_path / "ft").vocabulary[-1] == "[MASK]"


def position_table(backbone):
    return backbone.get_layer("embeddings").position_embedding.weights[0].numpy()


def test_a_model_without_per_token_features_is_refused_before_any_work(tmp_path, capsys):
    corpus = tmp_path / "notes.txt"
    with pytest.raises(errors.InvalidArgumentError, match="reads text; 'resnet20' takes image"):
        zoo.pretrain("resnet20", corpus, tmp_path / "r")
    with pytest.raises(errors.InvalidArgumentError, match="'lstm' pools its tokens inside"):
        zoo.pretrain("lstm", corpus, tmp_path / "r")  # the corpus is not even read
    with pytest.raises(errors.InvalidArgumentError, match="num_classes is set when fine-tuning"):
        zoo.pretrain(
            "transformer_encoder_tiny", corpus, tmp_path / "r", overrides={"num_classes": 3}
        )
    assert not (tmp_path / "r").exists()


def test_a_cluster_is_refused_before_connecting(tmp_path, monkeypatch):
    workers = {"worker": ["localhost:1", "localhost:2"]}
    config = {"cluster": workers, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(errors.StrategyError, match="multi-worker cluster .* not supported"):
        zoo.pretrain("transformer_encoder_tiny", tmp_path / "notes.txt", tmp_path / "r")


def test_pretraining_over_two_logical_cpus(tmp_path):
    # A fresh process: the CPU is split into two devices before TensorFlow starts.
    lines = [f"word{i % 7} and word{i % 5} then word{i % 3}" for i in range(200)]
    (tmp_path / "notes.txt").write_text("\n".join(lines) + "\n")
    args = ["pretrain", "transformer_encoder_tiny", "--corpus", "notes.txt", "--out", "mlm"]
    args += ["--epochs", "1", "--set", "sequence_length=8", "--batch-size", "16"]
    args += ["--strategy", "mirrored", "--cpu-replicas", "2", "--seed", "0"]
    done = subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pretraining done: 1 epochs" in done.stdout
    config = json.loads((tmp_path / "mlm" / "config.json").read_text())
    assert config["replicas"] == 2 and config["completed"]


def test_an_interrupted_pretraining_resumes_from_its_newest_backup(tmp_path, monkeypatch):
    """A crash part-way into the second epoch: the same call again continues
    from the newest backup (weights, optimizer, position), not from scratch."""
    import keras

    from zoo import recipes
    from zoo.backup import newest_backup

    lines = [f"word{i % 7} and word{i % 5} then word{i % 3}" for i in range(200)]
    corpus = tmp_path / "notes.txt"
    corpus.write_text("\n".join(lines) + "\n")
    run_dir = tmp_path / "mlm"
    settings = dict(epochs=3, batch_size=16, overrides={"sequence_length": 8}, verbose=0)
    steps_per_epoch = 12  # 180 training lines (every tenth held out) at 16

    class Crash(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == steps_per_epoch + 9:
                raise RuntimeError("simulated crash")

    class Count(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            Count.batches += 1

    extra = [Crash()]
    original = recipes.Recipe.callbacks
    monkeypatch.setattr(
        recipes.Recipe,
        "callbacks",
        lambda self, run_dir, **kw: original(self, run_dir, **kw) + extra,
    )
    model = "transformer_encoder_tiny"
    with pytest.raises(RuntimeError, match="simulated crash"):
        zoo.pretrain(model, corpus, run_dir, seed=3, backup_every=5, **settings)
    first_epoch = (run_dir / "history.csv").read_text().splitlines()
    assert len(first_epoch) == 2  # the header and epoch 0
    point = newest_backup(run_dir / "backup")
    assert (point.epoch, point.step) == (1, 8)  # backups every 5 batches in all: at 20

    # Another seed would order the remaining epochs differently: refused.
    with pytest.raises(errors.RunDirError, match="seed: 3 -> 4"):
        zoo.pretrain(model, corpus, run_dir, seed=4, **settings)
    extra[:] = [Count()]
    result = zoo.pretrain(model, corpus, run_dir, **settings)  # the run's seed, as recorded
    assert result.resumed and not result.already_complete
    # Only the batches after the backup were trained again.
    assert Count.batches == 3 * steps_per_epoch - point.global_step
    history = (run_dir / "history.csv").read_text().splitlines()
    assert history[:2] == first_epoch and [row.split(",")[0] for row in history[1:]] == [
        "0",
        "1",
        "2",
    ]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["completed"] and config["seed"] == 3
    assert not (run_dir / "backup").exists()  # removed once the run is recorded complete
    assert int(result.model.optimizer.iterations.numpy()) == 3 * steps_per_epoch
