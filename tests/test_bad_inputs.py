"""The catalogue of bad inputs: each raises one specific ZooError and changes no file.

One row per bad input, over the Python API and the CLI: the error class
(exactly, not a parent), the words its message must hold (the bad value and
what is accepted) and, for every case, a hash of each file under the case's
folder, the shared run directory and the pretrained directory before and
after. A CLI case must exit with status 2 and one line on stderr.

Bad inputs checked elsewhere are not repeated here: unknown model, dataset
and recipe names (tests/test_registry.py, test_recipes.py, data/
test_get_dataset.py), override values of each family (tests/vision, nlp,
speech), tampered shipped weights and `.keras` files with Lambda layers
(test_pretrained.py, test_saving.py, test_training.py), export over an
existing directory and bad formats (export/test_export.py), malformed
TF_CONFIG JSON (test_multi_worker.py), CSV layouts and vocabulary files
(data/test_text.py), corrupt WAV files (data/test_audio.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import shutil
import wave
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import distribute, errors, pretrained, quiet, training
from zoo.cli import main
from zoo.data import tokenizers


@dataclasses.dataclass
class Ctx:
    """What a case builds its bad input from."""

    tmp: Path  # the case's own folder
    run: Path  # a finished resnet20 run on digits (8x8x1, 10 classes), shared
    monkeypatch: pytest.MonkeyPatch


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    error: type
    needles: tuple  # substrings of the message; "{tmp}" / "{run}" are filled in
    make: Callable  # Ctx -> a zero-argument callable (API) or an argv list (CLI)


# --- small builders of bad files ---------------------------------------------


def _png_folder(root: Path, per_class=3, suffix=".png") -> Path:
    import keras

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (8, 8, 3)).astype("uint8")
            keras.utils.save_img(root / name / f"{i}{suffix}", pixels)
    return root


def _corrupt_png(ctx):
    root = _png_folder(ctx.tmp / "photos")
    (root / "cat" / "bad.png").write_bytes(b"this is not a png")
    return lambda: zoo.get_dataset(str(root), model="resnet20", batch_size=2)


def _empty_png(ctx):
    root = _png_folder(ctx.tmp / "photos")
    (root / "dog" / "0.png").write_bytes(b"")
    return lambda: zoo.get_dataset(str(root), batch_size=2)


def _truncated_jpeg(ctx):
    root = _png_folder(ctx.tmp / "photos", suffix=".jpg")
    path = root / "cat" / "1.jpg"
    path.write_bytes(path.read_bytes()[:60])
    return lambda: zoo.get_dataset(str(root), batch_size=2)


def _truncated_png_in_val(ctx):
    root = ctx.tmp / "photos"
    _png_folder(root / "train")
    _png_folder(root / "val", per_class=1)
    path = root / "val" / "dog" / "0.png"
    path.write_bytes(path.read_bytes()[:-20])
    return lambda: zoo.get_dataset(str(root), batch_size=2)


def _text_folder(root: Path) -> Path:
    for name in ("neg", "pos"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            (root / name / f"{i}.txt").write_text(f"a {name} review number {i}")
    return root


def _latin1_text_file(ctx):
    root = _text_folder(ctx.tmp / "reviews")
    (root / "pos" / "3.txt").write_bytes("a caf\xe9 review".encode("latin-1"))
    return lambda: zoo.get_dataset(str(root), batch_size=2)


def _latin1_csv(ctx):
    path = ctx.tmp / "reviews.csv"
    path.write_bytes("text,label\ngood,pos\nbad,neg\nna\xefve,pos\n".encode("latin-1"))
    return lambda: zoo.get_dataset(str(path), batch_size=2)


def _latin1_vocabulary(ctx):
    directory = ctx.tmp / "tokenizer"
    directory.mkdir()
    (directory / "vocabulary.txt").write_bytes("[PAD]\n[UNK]\ncaf\xe9\n".encode("latin-1"))
    return lambda: tokenizers.load_tokenizer(directory)


def _tsv_one_class(ctx):
    path = ctx.tmp / "reviews.tsv"
    path.write_text("text\tlabel\ngood\tpos\nfine\tpos\n")
    return lambda: zoo.get_dataset(str(path))


def _wav_folder_empty_file(ctx):
    root = ctx.tmp / "clips"
    for name in ("no", "yes"):
        (root / name).mkdir(parents=True)
        for i in range(2):
            with wave.open(str(root / name / f"{i}.wav"), "wb") as handle:
                handle.setnchannels(1)
                handle.setsampwidth(2)
                handle.setframerate(16000)
                handle.writeframes(np.zeros(800, "<i2").tobytes())
    (root / "yes" / "2.wav").write_bytes(b"")
    return lambda: zoo.get_dataset(str(root), batch_size=2)


def _image_file_as_dataset(ctx):
    root = _png_folder(ctx.tmp / "photos", per_class=1)
    return lambda: zoo.get_dataset(str(root / "cat" / "0.png"))


def _weights_file_of(ctx, name, **kwargs):
    path = ctx.tmp / f"{name}.weights.h5"
    zoo.get_model(name, input_shape=(8, 8, 1), num_classes=3, **kwargs).save_weights(path)
    return path


def _weights_of_another_model(ctx):
    path = _weights_file_of(ctx, "resnet32")
    return lambda: zoo.get_model("resnet20", weights=str(path), input_shape=(8, 8, 1))


def _empty_weights_file(ctx):
    path = ctx.tmp / "empty.weights.h5"
    path.write_bytes(b"")
    return lambda: zoo.get_model("resnet20", weights=str(path))


def _junk_safetensors(ctx):
    path = ctx.tmp / "model.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    return lambda: zoo.get_model("resnet18", weights=str(path))


def _empty_safetensors(ctx):
    path = ctx.tmp / "model.safetensors"
    path.write_bytes(b"")
    return lambda: zoo.get_model("resnet18", weights=str(path))


def _timm_folder_bad_config(ctx):
    folder = ctx.tmp / "timm"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"architecture": "resnet18", "num_classes": "many"})
    )
    (folder / "model.safetensors").write_bytes(b"")
    return lambda: zoo.get_model("resnet18", weights=str(folder))


def _nested_lambda_model(ctx):
    import keras

    path = ctx.tmp / "nested.keras"
    inner = keras.Sequential([keras.layers.Lambda(lambda x: x + 1.0)], name="inner")
    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inner(inputs))).save(path)
    return lambda: zoo.load_model(path)


def _weights_file_as_model(ctx):
    path = _weights_file_of(ctx, "resnet20")
    return lambda: zoo.load_model(path)


def _tf_config(value):
    def make(ctx):
        ctx.monkeypatch.setenv("TF_CONFIG", value)
        return lambda: distribute.get_strategy("multi_worker")

    return make


def _recipe(**changes):
    return lambda ctx: lambda: zoo.get_recipe("cifar_resnet").replace(**changes)


def _tampered_pretrained(ctx):
    """A copy of the shipped resnet20.digits weights with one byte flipped."""
    copy = ctx.tmp / "pretrained"
    copy.mkdir()
    shutil.copy(pretrained.pretrained_dir() / pretrained.MANIFEST, copy)
    data = bytearray((pretrained.pretrained_dir() / "resnet20.digits.weights.h5").read_bytes())
    data[-100] ^= 0xFF
    (copy / "resnet20.digits.weights.h5").write_bytes(bytes(data))
    ctx.monkeypatch.setenv("ZOO_PRETRAINED_DIR", str(copy))
    return ["weights", "verify", "resnet20.digits"]


def _export_over_existing(ctx):
    out = ctx.tmp / "export"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"an earlier export")
    return ["export", str(ctx.run), "--out", str(out), "--format", "onnx"]


def _export_over_a_file(ctx):
    out = ctx.tmp / "notes.txt"
    out.write_text("a file the user keeps")
    return ["export", str(ctx.run), "--out", str(out), "--format", "onnx", "--overwrite"]


def _csv_missing_column_cli(ctx):
    path = ctx.tmp / "reviews.csv"
    path.write_text("review,label\ngood,pos\nbad,neg\n")
    return ["train", "lstm", "--dataset", str(path), "--out", str(ctx.tmp / "run")]


def _corrupt_image_cli(ctx):
    root = _png_folder(ctx.tmp / "photos")
    (root / "dog" / "x.png").write_bytes(b"GIF89a, not a png")
    return ["train", "resnet20", "--dataset", str(root), "--out", str(ctx.tmp / "run")]


def _publish_over_shipped(ctx):
    return ["weights", "publish", str(ctx.run), "digits"]


def _tf_config_cli(ctx):
    ctx.monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": "host:1"}}))
    out = str(ctx.tmp / "run")
    return ["train", "resnet20", "--dataset", "digits", "--out", out, "--strategy", "multi_worker"]


def _train(*argv):
    return lambda ctx: ["train", *argv, "--out", str(ctx.tmp / "run")]


def _cli(*argv):
    return lambda ctx: [
        a.replace("{run}", str(ctx.run)).replace("{tmp}", str(ctx.tmp)) for a in argv
    ]


def _api(function, *args, **kwargs):
    return lambda ctx: lambda: function(*args, **kwargs)


E = errors
API_CASES = [
    # Names and overrides
    Case(
        "model-name-none",
        E.UnknownModelError,
        ("Unknown model None", "Known models"),
        _api(zoo.get_model, None),
    ),
    Case(
        "input-shape-string",
        E.InvalidArgumentError,
        ("input_shape='32x32'", "(height, width, channels)"),
        _api(zoo.get_model, "resnet20", input_shape="32x32"),
    ),
    Case(
        "std-negative",
        E.InvalidArgumentError,
        ("std=[-1.0]", "positive number per input channel"),
        _api(zoo.get_model, "resnet20", input_shape=(8, 8, 1), std=[-1.0]),
    ),
    Case(
        "embedding-dim-float",
        E.InvalidArgumentError,
        ("embedding_dim=8.5", "integer >= 1"),
        _api(zoo.get_model, "lstm", embedding_dim=8.5),
    ),
    Case(
        "vocabulary-size-string",
        E.InvalidArgumentError,
        ("vocabulary_size='big'", "integer >= 6"),
        _api(zoo.get_model, "bert_tiny", vocabulary_size="big"),
    ),
    Case(
        "sample-rate-float",
        E.InvalidArgumentError,
        ("sample_rate=16000.5", "integer >= 1"),
        _api(zoo.get_model, "kws_res8", sample_rate=16000.5),
    ),
    Case(
        "clip-shorter-than-window",
        E.InvalidArgumentError,
        ("clip_seconds=0.001", "shorter than one window"),
        _api(zoo.get_model, "kws_res8", clip_seconds=0.001),
    ),
    # get_dataset arguments
    Case(
        "seed-string",
        E.InvalidArgumentError,
        ("seed='x'", "integer >= 0"),
        _api(zoo.get_dataset, "digits", seed="x"),
    ),
    Case(
        "seed-float",
        E.InvalidArgumentError,
        ("seed=1.5", "integer >= 0"),
        _api(zoo.get_dataset, "digits", seed=1.5),
    ),
    Case(
        "batch-size-string",
        E.InvalidArgumentError,
        ("batch_size='64'", "integer >= 1"),
        _api(zoo.get_dataset, "digits", batch_size="64"),
    ),
    Case(
        "strategy-by-name",
        E.InvalidArgumentError,
        ("strategy='mirrored'", "get_strategy('mirrored')"),
        _api(zoo.get_dataset, "digits", strategy="mirrored"),
    ),
    Case(
        "data-dir-int",
        E.InvalidArgumentError,
        ("data_dir=5", "directory path"),
        _api(zoo.get_dataset, "cifar10", data_dir=5),
    ),
    Case(
        "misspelt-keyword",
        E.InvalidArgumentError,
        ("text_colum", "Accepted", "text_column"),
        _api(zoo.get_dataset, "digits", text_colum="x"),
    ),
    Case(
        "column-for-non-table",
        E.InvalidArgumentError,
        ("text_column='review'", ".csv/.tsv"),
        _api(zoo.get_dataset, "digits", text_column="review"),
    ),
    Case(
        "augment-int",
        E.InvalidArgumentError,
        ("augment=3", "'cifar'"),
        _api(zoo.get_dataset, "digits", augment=3),
    ),
    # Data files
    Case(
        "image-not-a-png",
        E.DataFileError,
        ("bad.png", "does not start like a .png", "Accepted"),
        _corrupt_png,
    ),
    Case("image-empty", E.DataFileError, ("0.png", "it is empty"), _empty_png),
    Case("image-truncated-jpeg", E.DataFileError, ("1.jpg", "truncated"), _truncated_jpeg),
    Case(
        "image-truncated-in-val-folder",
        E.DataFileError,
        ("val/dog/0.png", "truncated"),
        _truncated_png_in_val,
    ),
    Case(
        "text-file-not-utf8", E.DataFileError, ("3.txt", "not UTF-8", "offset 5"), _latin1_text_file
    ),
    Case("csv-not-utf8", E.DataFileError, ("reviews.csv", "not UTF-8", "line 4"), _latin1_csv),
    Case(
        "vocabulary-not-utf8",
        E.DataFileError,
        ("vocabulary.txt", "not UTF-8", "line 3"),
        _latin1_vocabulary,
    ),
    Case(
        "tsv-one-class", E.InvalidArgumentError, ("at least 2 classes", "['pos']"), _tsv_one_class
    ),
    Case("wav-empty", E.AudioFileError, ("2.wav", "empty"), _wav_folder_empty_file),
    Case(
        "image-file-as-dataset",
        E.InvalidArgumentError,
        ("0.png", "is a file", "class subfolders"),
        _image_file_as_dataset,
    ),
    # Weights
    Case(
        "weights-of-resnet32-into-resnet20",
        E.WeightsError,
        ("resnet32.weights.h5", "'resnet20'"),
        _weights_of_another_model,
    ),
    Case(
        "weights-empty-h5",
        E.WeightsError,
        ("empty.weights.h5", "file signature not found"),
        _empty_weights_file,
    ),
    Case(
        "weights-tag-of-another-model",
        E.WeightsError,
        ("'resnet20.digits'", "'resnet32'"),
        _api(zoo.get_model, "resnet32", weights="resnet20.digits"),
    ),
    Case(
        "weights-junk-safetensors", E.WeightsError, ("model.safetensors", "timm"), _junk_safetensors
    ),
    Case(
        "weights-empty-safetensors",
        E.WeightsError,
        ("model.safetensors", "header too small"),
        _empty_safetensors,
    ),
    Case(
        "weights-timm-config-bad-value",
        E.WeightsError,
        ("'many'", "config.json + model.safetensors"),
        _timm_folder_bad_config,
    ),
    Case(
        "train-weights-unknown-tag",
        E.WeightsError,
        ("'imdb'", "'lstm'", "'sentiment'"),
        lambda ctx: (
            lambda: zoo.train("lstm", "sentiment", ctx.tmp / "run", weights="imdb", verbose=0)
        ),
    ),
    # Saved models and runs
    Case(
        "keras-nested-lambda",
        E.UnsafeModelError,
        ("nested.keras", "Lambda", "safe_mode"),
        _nested_lambda_model,
    ),
    Case(
        "weights-file-as-model",
        E.ModelFileError,
        ("resnet20.weights.h5", "No model config"),
        _weights_file_as_model,
    ),
    Case(
        "evaluate-batch-size-0",
        E.InvalidArgumentError,
        ("batch_size=0", "integer >= 1"),
        lambda ctx: lambda: zoo.evaluate(ctx.run, batch_size=0),
    ),
    Case(
        "publish-empty-license",
        E.WeightsError,
        ("license=''", "SPDX"),
        lambda ctx: lambda: zoo.runs.publish_run(ctx.run, "other", license=""),
    ),
    Case(
        "publish-tag-int",
        E.WeightsError,
        ("tag=3", "letters, digits"),
        lambda ctx: lambda: zoo.runs.publish_run(ctx.run, 3),
    ),
    Case(
        "publish-over-shipped-weights",
        E.WeightsError,
        ("'resnet20.digits' are already published", "overwrite=True"),
        lambda ctx: (
            lambda: zoo.runs.publish_run(ctx.run, "digits", directory=pretrained.pretrained_dir())
        ),
    ),
    Case(
        "train-strategy-unknown",
        E.InvalidArgumentError,
        ("strategy='tpu'", "'mirrored'"),
        lambda ctx: lambda: training.train("resnet20", "digits", ctx.tmp / "run", strategy="tpu"),
    ),
    # Cluster and recipes
    Case(
        "tf-config-worker-not-list",
        E.StrategyError,
        ("cluster['worker'] must be a list", "Expected JSON"),
        _tf_config('{"cluster": {"worker": "localhost:1"}}'),
    ),
    Case(
        "tf-config-index-out-of-range",
        E.StrategyError,
        ("task.index", "[0, 1)"),
        _tf_config(
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 5}}'
        ),
    ),
    Case(
        "tf-config-task-type",
        E.StrategyError,
        ("task.type", "['worker']"),
        _tf_config(
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "chief", "index": 0}}'
        ),
    ),
    Case("tf-config-list", E.StrategyError, ("'cluster' object",), _tf_config("[1, 2]")),
    Case(
        "recipe-learning-rate-nan",
        E.InvalidArgumentError,
        ("learning_rate=nan", "finite number"),
        _recipe(learning_rate=float("nan")),
    ),
    Case(
        "recipe-weight-decay-inf",
        E.InvalidArgumentError,
        ("weight_decay=inf", "finite number"),
        _recipe(weight_decay=float("inf")),
    ),
    Case(
        "recipe-nesterov-string",
        E.InvalidArgumentError,
        ("nesterov='yes'", "True or False"),
        _recipe(nesterov="yes"),
    ),
    Case(
        "recipe-metrics-string",
        E.InvalidArgumentError,
        ("metrics='accuracy'", "('accuracy',)"),
        _recipe(metrics="accuracy"),
    ),
    Case(
        "recipe-finetune-lr-scale-nan",
        E.InvalidArgumentError,
        ("finetune_lr_scale=nan", "(0, 1]"),
        _recipe(finetune_lr_scale=float("nan")),
    ),
]

CLI_CASES = [
    Case(
        "cli-strategy-choice",
        None,
        ("argument --strategy", "'tpu'", "zoo train --help"),
        _train("resnet20", "--dataset", "digits", "--strategy", "tpu"),
    ),
    Case(
        "cli-epochs-0",
        None,
        ("--epochs", "integer >= 1", "'0'"),
        _train("resnet20", "--dataset", "digits", "--epochs", "0"),
    ),
    Case(
        "cli-set-unparsable",
        E.InvalidArgumentError,
        ("input_shape='(8,8,1'",),
        _train("resnet20", "--dataset", "digits", "--set", "input_shape=(8,8,1"),
    ),
    Case(
        "cli-text-column-for-images",
        E.InvalidArgumentError,
        ("text_column='body'",),
        _train("resnet20", "--dataset", "digits", "--text-column", "body"),
    ),
    Case(
        "cli-weights-of-another-model",
        E.WeightsError,
        ("'digits'", "'lstm'", "'sentiment'"),
        _train("lstm", "--dataset", "sentiment", "--weights", "digits"),
    ),
    Case(
        "cli-run-dir-of-another-model",
        E.RunDirError,
        ("belongs to another run", "'resnet20' -> 'resnet32'"),
        _cli("train", "resnet32", "--dataset", "digits", "--out", "{run}"),
    ),
    Case(
        "cli-csv-missing-column",
        E.InvalidArgumentError,
        ("['review', 'label']", "text_column="),
        _csv_missing_column_cli,
    ),
    Case(
        "cli-corrupt-image",
        E.DataFileError,
        ("x.png", "does not start like a .png"),
        _corrupt_image_cli,
    ),
    Case(
        "cli-tf-config",
        E.StrategyError,
        ("TF_CONFIG is not valid", "must be a list"),
        _tf_config_cli,
    ),
    Case(
        "cli-weights-verify-typo",
        E.WeightsError,
        ("'resnet20.digit'", "Did you mean: 'resnet20.digits'"),
        _cli("weights", "verify", "resnet20.digit"),
    ),
    Case(
        "cli-weights-verify-empty-name",
        E.WeightsError,
        ("Unknown weights ''", "arch.tag"),
        _cli("weights", "verify", ""),
    ),
    Case(
        "cli-weights-verify-tolerance",
        E.InvalidArgumentError,
        ("--tolerance -1.0", ">= 0"),
        _cli("weights", "verify", "--tolerance", "-1"),
    ),
    Case(
        "cli-weights-verify-tampered",
        E.WeightsError,
        ("resnet20.digits", "fails its checksum"),
        _tampered_pretrained,
    ),
    Case(
        "cli-weights-fetch-unknown",
        E.WeightsError,
        ("'resnet999.a1_in1k'", "Known weight sets"),
        _cli("weights", "fetch", "resnet999.a1_in1k"),
    ),
    Case(
        "cli-weights-list-unknown-model",
        E.UnknownModelError,
        ("'resnt20'", "Did you mean: 'resnet20'"),
        _cli("weights", "list", "--model", "resnt20"),
    ),
    Case(
        "cli-weights-publish-existing",
        E.WeightsError,
        ("already published", "--overwrite"),
        _publish_over_shipped,
    ),
    Case(
        "cli-weights-publish-missing-run",
        E.RunDirError,
        ("missing", "not a run directory"),
        _cli("weights", "publish", "{tmp}/missing", "x"),
    ),
    Case(
        "cli-export-over-existing",
        E.ExportError,
        ("already exists", "--overwrite"),
        _export_over_existing,
    ),
    Case(
        "cli-export-over-a-file",
        E.ExportError,
        ("notes.txt' is an existing file", "not a directory"),
        _export_over_a_file,
    ),
    Case(
        "cli-export-format",
        E.InvalidArgumentError,
        ("'tflite'", "'savedmodel'"),
        _cli("export", "{run}", "--out", "{tmp}/x", "--format", "tflite"),
    ),
    Case(
        "cli-evaluate-text-dataset",
        E.InvalidArgumentError,
        ("'sentiment' holds text", "'resnet20' takes image"),
        _cli("evaluate", "{run}", "--dataset", "sentiment"),
    ),
    Case(
        "cli-evaluate-batch-size-0",
        None,
        ("--batch-size", "integer >= 1"),
        _cli("evaluate", "{run}", "--batch-size", "0"),
    ),
    Case("cli-info-empty-name", E.UnknownModelError, ("Unknown model ''",), _cli("info", "")),
]


def _digests(*roots) -> dict:
    """sha256 of every file under `roots`, by path."""
    found = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished resnet20 run on digits, written without training (seconds)."""
    run = tmp_path_factory.mktemp("shared") / "r20"
    run.mkdir()
    spec = zoo.registry.get_spec("resnet20")
    overrides = {"input_shape": [8, 8, 1], "num_classes": 10}
    recipe = zoo.get_recipe("digits_resnet").replace(epochs=1)
    config = {
        "model": "resnet20",
        "overrides": overrides,
        "dataset": "digits",
        "data_dir": None,
        "recipe_name": recipe.name,
        "recipe": {**recipe.to_dict(), "metrics": list(recipe.metrics)},
        "epochs": 1,
        "batch_size": 64,
        "strategy": "auto",
        "replicas": 1,
        "seed": 0,
        "table_columns": {},
        "weights": None,
        "labels": [str(d) for d in range(10)],
        "input_spec": spec.input_spec(overrides),
        "completed": True,
        "metrics": {"loss": 2.3, "accuracy": 0.1, "examples": 360},
    }
    (run / "config.json").write_text(json.dumps(config))
    zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=10).save(run / "model.keras")
    return run


def _check_message(case, message, ctx):
    for needle in case.needles:
        needle = needle.replace("{tmp}", str(ctx.tmp)).replace("{run}", str(ctx.run))
        assert needle in message, f"{needle!r} not in {message!r}"


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
def test_api_bad_input(case, tmp_path, finished_run, monkeypatch):
    ctx = Ctx(tmp_path, finished_run, monkeypatch)
    call = case.make(ctx)
    before = _digests(tmp_path, finished_run, pretrained.pretrained_dir())
    with pytest.raises(errors.ZooError) as info:
        call()
    assert type(info.value) is case.error, f"{type(info.value).__name__}: {info.value}"
    _check_message(case, str(info.value), ctx)
    after = _digests(tmp_path, finished_run, pretrained.pretrained_dir())
    assert {k: after.get(k) for k in before} == before  # no file changed or removed


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli_bad_input(case, tmp_path, finished_run, monkeypatch):
    ctx = Ctx(tmp_path, finished_run, monkeypatch)
    argv = case.make(ctx)
    before = _digests(tmp_path, finished_run, pretrained.pretrained_dir())
    raised = []
    _record_errors(monkeypatch, raised)  # the API error behind the CLI's line
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
    message = err.getvalue()
    assert code == 2, (code, message, out.getvalue())
    assert message.startswith("zoo") and message.count("\n") == 1, message
    assert "Traceback" not in message
    # None: an argparse usage error, raised before any command runs.
    assert [type(e) for e in raised] == ([case.error] if case.error else []), raised
    _check_message(case, message, ctx)
    after = _digests(tmp_path, finished_run, pretrained.pretrained_dir())
    assert {k: after.get(k) for k in before} == before


def _record_errors(monkeypatch, raised: list) -> None:
    """Records the exception leaving the CLI's command handler (it runs in `quiet.console`)."""
    original = quiet.console

    @contextlib.contextmanager
    def console(**kwargs):
        with original(**kwargs):
            try:
                yield
            except BaseException as err:
                raised.append(err)
                raise

    monkeypatch.setattr(quiet, "console", console)


def test_the_catalogue_holds_at_least_40_cases():
    ids = [c.id for c in API_CASES + CLI_CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    assert os.environ["ZOO_OFFLINE"] == "1"  # no case may reach the network
