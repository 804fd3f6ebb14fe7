"""zoo.train / evaluate: the learning check, run directories, resuming, errors."""

import csv
import json

import pytest

import zoo
from zoo import errors, recipes, training


def read_epochs(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_resnet20_learns_digits(tmp_path):
    """The learning check: the project's own recipe reaches >= 95% on digits."""
    run_dir = tmp_path / "r20"
    result = zoo.train("resnet20", "digits", run_dir, verbose=0, seed=0)
    assert result.metrics["accuracy"] >= 0.95, result.metrics
    assert result.metrics["examples"] == 360

    # The model was fitted to the dataset: 8x8 grayscale, 10 classes.
    assert tuple(result.model.inputs[0].shape[1:]) == (8, 8, 1)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["completed"] and config["labels"] == [str(d) for d in range(10)]
    assert config["recipe_name"] == "digits_resnet"
    for name in ("model.keras", "history.csv", "curves.png", "checkpoints/best.keras"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "logs").rglob("events.out.tfevents.*"))
    assert read_epochs(run_dir) == list(range(result.epochs))

    # evaluate() reloads the saved model (safe_mode on) and agrees with training.
    metrics = zoo.evaluate(run_dir)
    assert metrics["accuracy"] == pytest.approx(result.metrics["accuracy"], abs=1e-6)

    # Training a finished run again only reloads it.
    again = zoo.train("resnet20", "digits", run_dir, verbose=0)
    assert again.already_complete and again.metrics == result.metrics


def resumable_run(run_dir, *, kill_after_backup=None):
    """tests/scripts/resumable_run.py in a new process; SIGKILLed once a backup
    past that step exists. Returns whether it was killed (a run may finish first).
    """
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = Path(__file__).with_name("scripts") / "resumable_run.py"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, str(script), str(run_dir)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    if kill_after_backup is None:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
        return False
    while proc.poll() is None:
        steps = [int(p.name[5:]) for p in (run_dir / "backup").glob("step-*")]
        if steps and max(steps) >= kill_after_backup:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    assert proc.returncode == 0, proc.stderr.read()
    return False


def saved_arrays(path) -> dict:
    """Every array of a `.keras` file's weights, by path (no class to register)."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    arrays = {}
    with h5py.File(io.BytesIO(data), "r") as handle:
        handle.visititems(
            lambda name, obj: (
                arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return arrays


@pytest.mark.slow
def test_a_run_killed_three_times_ends_bit_identical_to_an_uninterrupted_one(tmp_path):
    """SIGKILL at three points (real processes); each rerun resumes at the step of
    its newest backup, with the data position and random state it had."""
    import numpy as np

    resumable_run(tmp_path / "whole")
    killed = tmp_path / "killed"
    # Backups every 2 of 18 steps; each kill lands wherever the process is then
    # (mid-step, mid-backup), a little after its trigger.
    points = [3, 8, 13]
    kills = [resumable_run(killed, kill_after_backup=point) for point in points]
    assert any(kills), "every run finished before its kill point"
    assert not json.loads((killed / "config.json").read_text())["completed"]
    resumable_run(killed)

    whole = saved_arrays(tmp_path / "whole" / "model.keras")
    resumed = saved_arrays(killed / "model.keras")
    assert whole.keys() == resumed.keys() and len(whole) >= 6  # 3 layers' kernels, biases
    assert all(np.array_equal(whole[k], resumed[k]) for k in whole)
    # The history is the uninterrupted one too: each epoch once, same figures.
    assert (killed / "history.csv").read_text() == (tmp_path / "whole" / "history.csv").read_text()
    config = json.loads((killed / "config.json").read_text())
    assert config["completed"] and config["seed"] == 5 and config["deterministic"]
    assert not (killed / "backup").exists()  # removed once the run is recorded complete


def test_fine_tuning_from_weights_records_them_and_resumes_in_its_phase(tmp_path, monkeypatch):
    import keras

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("simulated crash after the warm-up epoch")

    original = recipes.Recipe.callbacks
    monkeypatch.setattr(
        recipes.Recipe,
        "callbacks",
        lambda self, run_dir, **kw: original(self, run_dir, **kw) + [Crash()],
    )
    run_dir = tmp_path / "ft"
    with pytest.raises(RuntimeError, match="simulated crash"):
        zoo.train("resnet20", "digits", run_dir, epochs=2, verbose=0, seed=3, weights="digits")
    monkeypatch.setattr(recipes.Recipe, "callbacks", original)
    # Other weights (or none) make another run: not resumed into this one.
    with pytest.raises(errors.RunDirError, match="weights: 'digits' -> None"):
        zoo.train("resnet20", "digits", run_dir, epochs=2, verbose=0)
    result = zoo.train("resnet20", "digits", run_dir, epochs=2, verbose=0, weights="digits")
    assert result.resumed and read_epochs(run_dir) == [0, 1]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["weights"] == "digits" and config["recipe"]["finetune"] is True
    started = config["started_from"]
    assert started["name"] == "resnet20.digits" and len(started["sha256"]) == 64
    # The saved model is whole again: every layer trainable, as fine-tuning found it.
    assert result.model.backbone.trainable
    assert result.metrics["accuracy"] >= 0.9, result.metrics


def test_run_directory_of_another_run_is_refused(toy_family, tmp_path):
    run_dir = tmp_path / "run"
    zoo.train("toy_cnn", "digits", run_dir, epochs=1, verbose=0)
    before = (run_dir / "config.json").read_text()
    with pytest.raises(errors.RunDirError, match="belongs to another run"):
        zoo.train("resnet20", "digits", run_dir, epochs=1, verbose=0)
    with pytest.raises(errors.RunDirError, match="epochs=3"):
        zoo.train("toy_cnn", "digits", run_dir, epochs=3, verbose=0)
    # Another batch size or seed is another run, even to resume it.
    with pytest.raises(errors.RunDirError, match="batch_size: 64 -> 32"):
        zoo.train("toy_cnn", "digits", run_dir, epochs=1, batch_size=32, verbose=0)
    with pytest.raises(errors.RunDirError, match=r"seed: \d+ -> 3"):
        zoo.train("toy_cnn", "digits", run_dir, epochs=1, verbose=0, seed=3)
    assert (run_dir / "config.json").read_text() == before

    # A tampered model file is reported, not loaded.
    (run_dir / "model.keras").write_bytes(b"not a zip")
    (run_dir / "checkpoints" / "best.keras").unlink()
    with pytest.raises(errors.RunDirError, match="corrupt"):
        zoo.evaluate(run_dir)


def fake_run(run_dir, save_model):
    """A finished run directory whose model.keras is written by `save_model(path)`."""
    run_dir.mkdir()
    config = {"model": "custom", "dataset": "digits", "batch_size": 64, "completed": True}
    (run_dir / "config.json").write_text(json.dumps(config))
    save_model(run_dir / "model.keras")
    return run_dir


def test_a_run_model_with_a_lambda_layer_is_refused_not_called_corrupt(tmp_path, capsys):
    import keras

    from zoo.cli import main

    def save_lambda_model(path):
        inputs = keras.Input((4,))
        outputs = keras.layers.Dense(2)(keras.layers.Lambda(lambda x: x * 2.0)(inputs))
        keras.Model(inputs, outputs).save(path)

    run_dir = fake_run(tmp_path / "run", save_lambda_model)
    before = (run_dir / "model.keras").read_bytes()
    with pytest.raises(errors.RunDirError) as caught:
        zoo.evaluate(run_dir)
    message = str(caught.value)
    assert str(run_dir / "model.keras") in message
    assert "could execute code" in message and "not corrupt" in message
    assert "safe_mode=True" in message and "safe_mode=False" in message
    assert "corrupt or truncated" not in message

    assert main(["evaluate", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: Refused to load") and err.count("\n") == 1, err
    assert (run_dir / "model.keras").read_bytes() == before


def test_a_truncated_run_model_is_reported_as_corrupt(tmp_path):
    spec = zoo.registry.get_spec("resnet20")

    def save_truncated(path):
        zoo.get_model("resnet20", **spec.tiny_kwargs).save(path)
        path.write_bytes(path.read_bytes()[:-100])

    run_dir = fake_run(tmp_path / "run", save_truncated)
    with pytest.raises(errors.RunDirError, match="model.keras.*corrupt or truncated"):
        zoo.evaluate(run_dir)


def test_overrides_fit_the_dataset_unless_given():
    spec = zoo.registry.get_spec("resnet20")
    info = zoo.dataset_info("digits")
    assert training.fit_overrides_to_dataset(spec, {}, info) == {
        "num_classes": 10,
        "input_shape": (8, 8, 1),
    }
    assert training.fit_overrides_to_dataset(spec, {"input_shape": (32, 32, 3)}, info) == {
        "num_classes": 10,
        "input_shape": (32, 32, 3),
    }


def test_bad_training_arguments_write_nothing(tmp_path):
    with pytest.raises(errors.UnknownDatasetError, match="Did you mean: 'digits'"):
        zoo.train("resnet20", "digit", tmp_path / "a", verbose=0)
    with pytest.raises(errors.InvalidArgumentError, match="epochs=0"):
        zoo.train("resnet20", "digits", tmp_path / "b", epochs=0, verbose=0)
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_run_is_an_error_not_a_finished_run(toy_family, tmp_path, monkeypatch):
    exploding = recipes.get_recipe("digits_toy").replace(name="exploding", learning_rate=1e30)
    monkeypatch.setitem(recipes._RECIPES, "exploding", exploding)
    run_dir = tmp_path / "run"
    with pytest.raises(errors.TrainingDivergedError, match=r"learning_rate=1e\+30"):
        zoo.train("toy_cnn", "digits", run_dir, epochs=2, verbose=0, seed=0, recipe="exploding")
    config = json.loads((run_dir / "config.json").read_text())
    assert not config["completed"] and "metrics" not in config
    assert not (run_dir / "model.keras").exists()


@pytest.mark.parametrize("where", ["a_file", "a_file/sub"])
def test_a_run_directory_that_cannot_be_made_is_a_clear_error(tmp_path, where):
    (tmp_path / "a_file").write_text("not a directory")
    with pytest.raises(errors.RunDirError, match="is not a directory"):
        zoo.train("resnet20", "digits", tmp_path / where, epochs=1, verbose=0)
    assert (tmp_path / "a_file").read_text() == "not a directory"


@pytest.mark.slow
def test_a_csv_with_its_own_column_names_trains_evaluates_and_exports(tmp_path):
    rows = ["review,stars"] + [
        f"review {i} was {'good' if i % 2 else 'bad'},{'pos' if i % 2 else 'neg'}"
        for i in range(40)
    ]
    table = tmp_path / "reviews.csv"
    table.write_text("\n".join(rows) + "\n")
    small = {"embedding_dim": 8, "units": 8, "vocabulary_size": 100}
    run_dir = tmp_path / "run"
    result = zoo.train(
        "lstm",
        str(table),
        run_dir,
        epochs=1,
        batch_size=8,
        verbose=0,
        seed=0,
        overrides=small,
        text_column="review",
        label_column="stars",
    )
    config = json.loads((run_dir / "config.json").read_text())
    assert config["labels"] == ["neg", "pos"]
    assert config["table_columns"] == {"text_column": "review", "label_column": "stars"}
    # evaluate and export read the columns from the run, not from the caller.
    assert zoo.evaluate(run_dir)["accuracy"] == pytest.approx(result.metrics["accuracy"], abs=1e-6)
    report = training.export_run(run_dir, tmp_path / "export", formats=("onnx",), examples=4)
    assert report.passed and report.inputs == "given"


def test_export_run_checks_what_it_is_asked_before_reading_the_run(tmp_path):
    # A typo or an existing export fails at once: the run (here there is
    # none) and its data are not read first.
    (tmp_path / "out").mkdir()
    missing = tmp_path / "no-run"
    with pytest.raises(errors.ExportError, match="already exists"):
        training.export_run(missing, tmp_path / "out")
    with pytest.raises(errors.InvalidArgumentError, match="'onxx'"):
        training.export_run(missing, tmp_path / "new", formats=("onxx",))
    with pytest.raises(errors.InvalidArgumentError, match="quantize must be"):
        training.export_run(missing, tmp_path / "new", quantize="int4")
    with pytest.raises(errors.InvalidArgumentError, match="max_accuracy_drop"):
        training.export_run(missing, tmp_path / "new", quantize="int8", max_accuracy_drop=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
