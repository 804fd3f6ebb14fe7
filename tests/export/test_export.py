"""zoo.export: verified SavedModel and ONNX artifacts, atomic writes, errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import zoo
from zoo import errors
from zoo.exporting import verify
from zoo.exporting.formats import FORMATS


@pytest.fixture(scope="module")
def model():
    return zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=3)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(0, 255, (6, 8, 8, 1)).astype("float32")


@pytest.fixture(scope="module")
def exported(model, images, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "r20"
    report = zoo.export(
        model,
        out,
        inputs=images,
        model_name="resnet20",
        labels=["a", "b", "c"],
        extra_metadata={"dataset": "digits"},
    )
    return out, report


def test_both_formats_pass_within_tolerance(exported):
    out, report = exported
    assert report.passed
    assert [r.format for r in report.formats] == ["savedmodel", "onnx"]
    for result in report.formats:
        assert result.max_abs_diff <= 1e-5 and result.argmax_agreement == 1.0
        assert result.examples == 6 and os.path.exists(result.path)
    text = str(report)
    assert "savedmodel" in text and "onnx" in text and "PASS" in text
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "model.onnx", "savedmodel"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_metadata_describes_the_artifacts(exported):
    out, report = exported
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["model"] == "resnet20" and meta["labels"] == ["a", "b", "c"]
    assert meta["inputs"] == [
        {
            "name": "images",
            "shape": [None, 8, 8, 1],
            "dtype": "float32",
            "value_range": [0.0, 255.0],
        }
    ]
    assert meta["outputs"]["meaning"] == "class probabilities"
    assert meta["onnx_opset"] == 17 and meta["dataset"] == "digits"
    assert meta["versions"]["tensorflow"].startswith("2.21")
    assert all(meta["versions"][p] for p in ("keras", "onnx", "onnxruntime", "tf2onnx"))
    assert "[0, 255]" in meta["preprocessing"] and "inside" in meta["preprocessing"]
    # Paths relative to the export directory, so it can be moved or copied.
    assert meta["created"] and meta["artifacts"] == {
        "savedmodel": "savedmodel",
        "onnx": "model.onnx",
    }
    assert meta["verification"]["inputs"] == "given" and report.inputs == "given"
    assert {f["path"] for f in meta["verification"]["formats"]} == {"savedmodel", "model.onnx"}
    diffs = {f["format"]: f["max_abs_diff"] for f in meta["verification"]["formats"]}
    assert diffs == {r.format: r.max_abs_diff for r in report.formats}


def test_savedmodel_serve_matches_keras(exported, model, images):
    import tensorflow as tf

    out, _ = exported
    loaded = tf.saved_model.load(str(out / "savedmodel"))  # keep it: serve needs its variables
    np.testing.assert_allclose(
        loaded.serve(tf.constant(images)).numpy(), model.predict(images, verbose=0), atol=1e-5
    )


def test_artifacts_run_without_zoo(exported, model, images, tmp_path):
    out, _ = exported
    expected = model.predict(images, verbose=0)
    # The runner script itself, isolated (-I) and from an unrelated directory:
    # neither zoo nor TensorFlow is importable or imported there.
    np.savez(tmp_path / "in.npz", images=images)
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            str(FORMATS["onnx"].runner),
            str(out / "model.onnx"),
            "in.npz",
            "out.npz",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["outputs"], expected, atol=1e-5)
    # What each runner may import at all (parsed, so docstrings don't count).
    assert _imports(FORMATS["onnx"].runner) <= {"os", "sys", "numpy", "onnxruntime", "tokenizers"}
    assert _imports(FORMATS["savedmodel"].runner) <= {
        "sys",
        "numpy",
        "tensorflow",
        "tensorflow_text",
    }

    # And the ONNX file loads with onnxruntime alone.
    code = (
        "import sys, numpy as np, onnxruntime as ort;"
        f"s = ort.InferenceSession({str(out / 'model.onnx')!r});"
        "x = np.zeros((2, 8, 8, 1), 'float32');"
        "print(s.run(None, {s.get_inputs()[0].name: x})[0].shape);"
        "assert 'tensorflow' not in sys.modules and 'zoo' not in sys.modules"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(2, 3)"


def _imports(script) -> set:
    import ast

    names = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def test_a_mismatching_artifact_fails_and_writes_nothing(model, images, tmp_path, monkeypatch):
    real = verify.run_artifact

    def off_by_a_little(fmt, artifact, inputs):
        ran = real(fmt, artifact, inputs)
        return {**ran, "outputs": ran["outputs"] + (1e-3 if fmt == "onnx" else 0.0)}

    monkeypatch.setattr(verify, "run_artifact", off_by_a_little)
    with pytest.raises(errors.ExportVerificationError) as info:
        zoo.export(model, tmp_path / "bad", formats="onnx", inputs=images)
    assert "onnx: max |diff| 0.001" in str(info.value)
    assert "argmax agreement" in str(info.value)
    assert info.value.report["passed"] is False
    assert list(tmp_path.iterdir()) == []  # neither the export nor its staging dir


def test_existing_export_needs_overwrite(model, images, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(errors.ExportError, match="overwrite=True"):
        zoo.export(model, out, formats="onnx", inputs=images)
    assert (out / "keep.txt").read_text() == "mine"
    report = zoo.export(model, out, formats="onnx", inputs=images, overwrite=True)
    assert report.passed and sorted(p.name for p in out.iterdir()) == [
        "metadata.json",
        "model.onnx",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(formats=("tflite",)), errors.InvalidArgumentError, "formats=\\('tflite',\\)"),
        (dict(formats=()), errors.InvalidArgumentError, "formats=\\(\\)"),
        (
            dict(inputs=np.zeros((2, 9, 9, 1), "float32")),
            errors.InvalidArgumentError,
            "shape \\(batch, 8, 8, 1\\)",
        ),
        (dict(inputs={"pixels": np.zeros((2, 8, 8, 1))}), errors.InvalidArgumentError, "'images'"),
        (dict(formats="savedmodel,tflite"), errors.InvalidArgumentError, "'savedmodel,tflite'"),
        (dict(formats=5), errors.InvalidArgumentError, "formats=5"),
        (dict(atol=0), errors.InvalidArgumentError, "atol=0"),
        (dict(atol=-1e-3), errors.InvalidArgumentError, "atol=-0.001"),
        (dict(atol="tight"), errors.InvalidArgumentError, "atol='tight'"),
    ],
)
def test_bad_arguments_name_the_value(model, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        zoo.export(model, tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_not_a_model_is_refused(tmp_path):
    with pytest.raises(errors.ExportError, match="keras.Model"):
        zoo.export("resnet20", tmp_path / "x")


def test_mixed_precision_model_exports_in_float32(tmp_path, images):
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        mixed = zoo.get_model("resnet20", input_shape=(8, 8, 1), num_classes=3)
    finally:
        keras.config.set_dtype_policy(previous)
    assert mixed.layers[2].dtype_policy.compute_dtype == "float16"
    from zoo.exporting.onnx import float32_copy

    clone = float32_copy(mixed)
    assert all(layer.dtype_policy.compute_dtype == "float32" for layer in clone.layers)
    assert keras.config.dtype_policy().name == previous.name  # the global policy is back
    np.testing.assert_allclose(
        clone.predict(images, verbose=0), mixed.predict(images, verbose=0), atol=5e-2
    )
    # The artifact is float32 and verified against the float32 copy, at the usual tolerance.
    report = zoo.export(mixed, tmp_path / "mixed", formats="onnx,savedmodel", inputs=images)
    assert report.passed and report["onnx"].max_abs_diff < 1e-5


def test_relative_dir_comma_formats_and_random_inputs(model, tmp_path, monkeypatch):
    # One export covers three things: a relative out_dir (the runner works in
    # its own cwd), formats as a CLI-style string, and inputs=None, which makes
    # a deterministic random batch of raw-image values.
    monkeypatch.chdir(tmp_path)
    report = zoo.export(model, "rel/out", formats=" onnx, ", inputs=None)
    assert [r.format for r in report.formats] == ["onnx"]
    assert report.passed and report["onnx"].examples == 8
    assert (tmp_path / "rel" / "out" / "model.onnx").is_file()
    assert set(report.to_dict()) == {"model", "out_dir", "passed", "inputs", "formats"}
    # A check on noise is said to be one.
    assert report.inputs == "random" and "random batch" in str(report)


def test_a_crashing_runner_is_an_export_error(tmp_path):
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not an onnx file")
    with pytest.raises(errors.ExportError, match="failed to run in a clean process") as info:
        verify.run_artifact("onnx", broken, {"images": np.zeros((1, 8, 8, 1), "float32")})
    assert "model.onnx" in str(info.value) and "exit 1" in str(info.value)
