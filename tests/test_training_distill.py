"""zoo train --teacher: knowledge distillation runs (zoo.runs.trainer, zoo.runs.teachers)."""

import json

import pytest

import zoo
from zoo import cli
from zoo.errors import InvalidArgumentError, RunDirError


@pytest.fixture(scope="module")
def distilled(toy_family, tmp_path_factory):
    """The toy CNN taught by the shipped resnet20.digits alone (no label loss), 3 epochs."""
    out = tmp_path_factory.mktemp("distill") / "run"
    result = zoo.train(
        "toy_cnn",
        "digits",
        out,
        epochs=3,
        seed=0,
        teacher="resnet20.digits",
        temperature=2.0,
        student_loss_weight=0.0,
        verbose=0,
    )
    return result


def test_the_run_saves_the_student_and_records_the_teacher(distilled):
    config = json.loads((distilled.run_dir / "config.json").read_text())
    assert config["distill"] == {
        "teacher": "resnet20.digits",
        "temperature": 2.0,
        "student_loss_weight": 0.0,
    }
    assert config["teacher"]["name"] == "resnet20.digits"
    assert config["teacher"]["sha256"]
    for path in ("model.keras", "checkpoints/best.keras"):
        model = zoo.load_model(distilled.run_dir / path)
        assert model.name == "toy_cnn"  # the student, not the distiller
        assert model.get_layer("predictions").get_config()["activation"] == "softmax"
    header = (distilled.run_dir / "history.csv").read_text().splitlines()[0].split(",")
    assert {"distillation_loss", "student_loss", "val_accuracy"} <= set(header)
    # Chance is 0.1, and no label entered the loss: the teacher taught this
    # (3 epochs: 0.675 measured; the toy CNN reaches 0.77 in 4 epochs on labels).
    assert distilled.metrics["accuracy"] >= 0.5


def test_the_run_evaluates_and_exports_like_any_other(distilled, tmp_path):
    assert zoo.evaluate(distilled.run_dir)["accuracy"] == pytest.approx(
        distilled.metrics["accuracy"], abs=1e-6
    )
    report = zoo.training.export_run(distilled.run_dir, tmp_path / "out", formats=("onnx",))
    assert report.passed


def test_resuming_with_another_teacher_setting_is_refused(distilled):
    with pytest.raises(RunDirError, match="distill"):
        zoo.train(
            "toy_cnn",
            "digits",
            distilled.run_dir,
            epochs=3,
            seed=0,
            teacher="resnet20.digits",
            temperature=4.0,
            student_loss_weight=0.0,
        )


def test_a_teacher_of_other_classes_is_refused(toy_family, tmp_path):
    with pytest.raises(InvalidArgumentError, match="other classes"):
        zoo.train("toy_cnn", "digits", tmp_path / "r", teacher="kws_res8.spoken_commands")
    assert not (tmp_path / "r" / "model.keras").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"teacher": "no/such/run"}, "Unknown teacher"),
        ({"teacher": "resnet20.nosuch"}, "Unknown weights"),
        ({"temperature": 2.0}, "needs a teacher"),
        ({"teacher": "resnet20.digits", "student_loss_weight": 2.0}, "student_loss_weight=2.0"),
    ],
)
def test_bad_distillation_arguments_name_the_value(toy_family, tmp_path, kwargs, message):
    with pytest.raises(zoo.errors.ZooError, match=message):
        zoo.train("toy_cnn", "digits", tmp_path / "r", **kwargs)


def test_a_text_student_is_refused_before_any_work(tmp_path):
    with pytest.raises(InvalidArgumentError, match="token ids"):
        zoo.train("lstm", "sentiment", tmp_path / "r", teacher="lstm.sentiment")
    assert not (tmp_path / "r").exists()


def test_the_cli_flags_reach_train(capsys, tmp_path):
    code = cli.main(
        ["train", "resnet20", "--dataset", "digits", "--out", str(tmp_path / "r"),
         "--temperature", "2"]
    )  # fmt: skip
    assert code == 2
    assert "needs a teacher" in capsys.readouterr().err


def test_the_published_command_reproduces_the_distillation(distilled):
    from zoo.runs.publish import train_command

    command = train_command(json.loads((distilled.run_dir / "config.json").read_text()))
    assert command.endswith("--teacher resnet20.digits --temperature 2 --student-loss-weight 0"), (
        command
    )


def test_a_run_directory_serves_as_a_teacher(distilled):
    from zoo.runs.teachers import load_teacher

    labels = json.loads((distilled.run_dir / "config.json").read_text())["labels"]
    found = load_teacher(str(distilled.run_dir), labels)
    assert found.model.name == "toy_cnn"
    assert found.record["completed"] and found.record["model"] == "toy_cnn"
    assert found.record["val_accuracy"] == pytest.approx(distilled.metrics["accuracy"])
    with pytest.raises(InvalidArgumentError, match="other classes"):
        load_teacher(str(distilled.run_dir), labels[::-1])
