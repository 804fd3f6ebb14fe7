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

# One worker builds the module's shared fixtures once (xdist would build them on each).
pytestmark = pytest.mark.xdist_group("test_export")


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
        # The given batch, the first example alone and an odd batch of 7, each
        # compared with Keras; the figures above are the worst of them.
        assert result.shapes == [{"images": [n, 8, 8, 1]} for n in (6, 1, 7)]
        assert [c["name"] for c in result.cases] == ["given", "one", "odd"]
        assert result.max_abs_diff == max(c["max_abs_diff"] for c in result.cases)
    text = str(report)
    assert "savedmodel" in text and "onnx" in text and "PASS" in text
    assert text.count("shapes: images 6x8x8x1, 1x8x8x1, 7x8x8x1") == 2
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
    # Only the batch axis is free: height, width and channels are fixed in both artifacts.
    assert meta["dynamic_axes"] == {"images": {"0": "batch"}}
    assert meta["verified_shapes"]["onnx"] == [{"images": [n, 8, 8, 1]} for n in (6, 1, 7)]
    assert meta["verified_shapes"]["savedmodel"] == meta["verified_shapes"]["onnx"]


def test_dynamic_axes_are_read_from_the_onnx_graph(exported):
    import onnx

    out, _ = exported
    meta = json.loads((out / "metadata.json").read_text())
    graph = onnx.load(str(out / "model.onnx")).graph
    free = {
        i.name: [
            str(axis)
            for axis, dim in enumerate(i.type.tensor_type.shape.dim)
            if dim.WhichOneof("value") != "dim_value"
        ]
        for i in graph.input
    }
    assert free == {name: sorted(axes) for name, axes in meta["dynamic_axes"].items()}
    declared = {f["format"]: f["input_shapes"] for f in meta["verification"]["formats"]}
    assert declared == {
        "onnx": {"images": [None, 8, 8, 1]},
        "savedmodel": {"images": [None, 8, 8, 1]},
    }


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
    np.savez(tmp_path / "in.npz", **{"case0/images": images, "case1/images": images[:1]})
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
    ran = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(ran["case0/outputs"], expected, atol=1e-5)
    np.testing.assert_allclose(ran["case1/outputs"], expected[:1], atol=1e-5)
    assert list(ran["declared/images"]) == [-1, 8, 8, 1]
    # What each runner may import at all (parsed, so docstrings don't count).
    assert _imports(FORMATS["onnx"].runner) <= {
        "os",
        "sys",
        "time",
        "numpy",
        "onnxruntime",
        "tokenizers",
    }
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


def test_an_artifact_wrong_on_one_shape_fails_and_writes_nothing(
    model, images, tmp_path, monkeypatch
):
    real = verify.run_artifact
    started = []

    def wrong_at_batch_7(fmt, artifact, cases):
        started.append(fmt)
        ran = real(fmt, artifact, cases)
        odd = ran["cases"][2]  # given, one, odd: only the batch of 7 is off
        assert len(odd["outputs"]) == 7
        odd["outputs"] = odd["outputs"] + 1e-3
        return ran

    monkeypatch.setattr(verify, "run_artifact", wrong_at_batch_7)
    with pytest.raises(errors.ExportVerificationError) as info:
        zoo.export(model, tmp_path / "bad", formats="onnx", inputs=images)
    assert "onnx: max |diff| 0.001" in str(info.value)
    assert "argmax agreement" in str(info.value) and "worst on images 7x8x8x1" in str(info.value)
    cases = info.value.report["formats"][0]["cases"]
    assert [c["max_abs_diff"] > 1e-4 for c in cases] == [False, False, True]
    assert info.value.report["passed"] is False
    assert started == ["onnx"]  # one runner process for all the shapes
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
        verify.run_artifact("onnx", broken, [{"images": np.zeros((1, 8, 8, 1), "float32")}])
    assert "model.onnx" in str(info.value) and "exit 1" in str(info.value)
