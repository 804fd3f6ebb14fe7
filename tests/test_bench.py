"""zoo bench: every runtime measured, figures well formed, bad arguments refused.

Timings are only checked to be positive and finite: the machines are shared.
One tiny ResNet is measured once for the whole module (exports dominate).
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo import errors
from zoo.bench import BASELINE, RUNTIME_LABELS, bench, format_bench
from zoo.cli import main

TINY = {"input_shape": (8, 8, 1), "num_classes": 3}
ROOT = Path(__file__).resolve().parents[1]


# The module's fixtures build and export models once: one xdist worker runs it all.
pytestmark = pytest.mark.xdist_group("bench")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def tiny(artifacts):
    return bench(
        "resnet20",
        batch_sizes=(1, 2),
        repeats=2,
        train_batch=4,
        train_steps=2,
        tmp_dir=artifacts,
        quantize="int8",
        **TINY,
    )


def test_bench_measures_every_runtime(tiny):
    assert tiny.params == zoo.get_model("resnet20", **TINY).count_params()
    assert 0 < tiny.trainable_params <= tiny.params
    assert tiny.input_shape == [8, 8, 1] and tiny.input_dtype == "float32"
    assert tiny.recipe == "cifar_resnet"
    assert tiny.train_examples_per_s > 0 and math.isfinite(tiny.train_examples_per_s)
    assert list(tiny.latency_ms) == list(RUNTIME_LABELS)
    assert tiny.rounds == {1: 2, 2: 2}
    for runtime, by_batch in tiny.latency_ms.items():
        assert list(by_batch) == [1, 2]
        assert all(ms > 0 and math.isfinite(ms) for ms in by_batch.values()), runtime
        assert tiny.speedup(runtime, 1) > 0
    assert tiny.speedup(BASELINE, 2) == 1.0
    assert tiny.speedup("savedmodel", 1, against="savedmodel") == 1.0
    assert tiny.quantize == "int8"
    json.dumps(tiny.to_dict())


def test_bench_keeps_artifacts_in_tmp_dir(tiny, artifacts):
    assert Path(tiny.artifact_dir).parent == artifacts.resolve()
    assert (Path(tiny.artifact_dir) / "savedmodel" / "saved_model.pb").is_file()
    assert (Path(tiny.artifact_dir) / "model.onnx").is_file()
    assert (Path(tiny.artifact_dir) / "model.int8.onnx").is_file()
    assert set(tiny.artifact_mb) == {"savedmodel", "onnx", "onnx_int8"}
    assert all(mb > 0 for mb in tiny.artifact_mb.values())


def test_format_bench_shows_runtimes_and_figures(tiny):
    text = format_bench(tiny)
    for word in (
        "resnet20",
        "270,355" if tiny.params == 270355 else f"{tiny.params:,}",
        "8x8x1",
        "examples/s",
        "b2 speedup",
        "b2 vs sm",
        "int8 vs onnxruntime fp32: b1 ",
        "savedmodel",
        "onnx",
        *RUNTIME_LABELS.values(),
    ):
        assert word in text
    assert f"{tiny.train_examples_per_s:,.1f}" in text
    for runtime, by_batch in tiny.latency_ms.items():
        for batch, ms in by_batch.items():
            assert f"{ms:.2f}" in text
            assert f"{tiny.speedup(runtime, batch):.2f}x" in text
            assert f"{tiny.speedup(runtime, batch, 'savedmodel'):.2f}x" in text


def test_cli_json_prints_figures_and_both_ratio_tables(monkeypatch, capsys, tiny):
    seen = {}

    def fake_bench(name, **kwargs):
        seen.update(kwargs)
        return tiny

    monkeypatch.setattr("zoo.bench.bench", fake_bench)
    assert main(["bench", "resnet20", "--quantize", "int8", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)  # stdout is the JSON alone
    assert seen["quantize"] == "int8"
    assert figures["latency_ms"]["onnxruntime_int8"]["1"] > 0
    ratios = figures["speedup"]
    assert set(ratios) == {"vs_keras_predict_on_batch", "vs_savedmodel", "int8_vs_onnxruntime"}
    assert ratios["vs_savedmodel"]["onnxruntime"]["2"] == pytest.approx(
        tiny.speedup("onnxruntime", 2, against="savedmodel")
    )
    assert ratios["int8_vs_onnxruntime"]["1"] == pytest.approx(
        tiny.speedup("onnxruntime_int8", 1, against="onnxruntime")
    )


def test_one_format_without_training():
    # ONNX alone: Keras' exporter needs a model that has been called, which
    # the SavedModel export otherwise does first. Keras is always measured.
    result = bench(
        "resnet20", batch_sizes=(2,), repeats=1, train_steps=0, formats=("onnx",), **TINY
    )
    assert result.train_examples_per_s is None and set(result.export_s) == {"onnx"}
    assert list(result.latency_ms) == [
        "keras_predict_on_batch",
        "keras_call",
        "keras_predict",
        "onnxruntime",
    ]
    text = format_bench(result)
    assert "train: not measured" in text and "artifacts: onnx" in text
    assert "savedmodel" not in text and "vs sm" not in text and "int8" not in text


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_sizes=(1, 0)), r"batch_sizes=\(1, 0\)"),
        (dict(batch_sizes=()), r"batch_sizes=\(\)"),
        (dict(batch_sizes=32), "batch_sizes=32"),
        (dict(batch_sizes=("1",)), r"batch_sizes=\('1',\)"),
        (dict(repeats=0), "repeats=0"),
        (dict(repeats=2.5), "repeats=2.5"),
        (dict(train_batch=0), "train_batch=0"),
        (dict(train_steps=-1), "train_steps=-1"),
        (dict(formats=("keras", "tflite")), "formats='tflite'"),
        (dict(quantize="int4"), "quantize='int4'"),
        (dict(time_budget_s=0), "time_budget_s=0"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(errors.InvalidArgumentError, match=match):
        bench("resnet20", **TINY, **kwargs)


def test_unknown_model_and_override():
    with pytest.raises(errors.UnknownModelError, match="resnt20"):
        bench("resnt20")
    with pytest.raises(errors.InvalidArgumentError, match="dropot"):
        bench("resnet20", overrides={"dropot": 0.1})


def test_cli_passes_its_options_to_bench(monkeypatch, capsys, tiny):
    seen = {}

    def fake_bench(name, **kwargs):
        seen.update(name=name, **kwargs)
        return tiny

    monkeypatch.setattr("zoo.bench.bench", fake_bench)
    code = main(
        [
            "bench",
            "resnet20",
            "--batch-sizes",
            "1,2",
            "--repeats",
            "2",
            "--train-batch",
            "4",
            "--train-steps",
            "2",
            "--set",
            "input_shape=(8,8,1)",
            "--set",
            "num_classes=3",
        ]
    )
    assert code == 0 and capsys.readouterr().out.strip() == format_bench(tiny)
    assert seen == dict(
        name="resnet20", batch_sizes=(1, 2), repeats=2, train_batch=4, train_steps=2, overrides=TINY
    )


def test_cli_bad_batch_sizes(capsys):
    assert main(["bench", "resnet20", "--batch-sizes", "1,x"]) == 2
    assert "--batch-sizes" in capsys.readouterr().err


def test_benchmark_script_writes_json(monkeypatch, capsys, tmp_path, tiny):
    spec = importlib.util.spec_from_file_location(
        "bench_models", ROOT / "benchmarks" / "bench_models.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "bench", lambda name, **kwargs: tiny)
    out = tmp_path / "bench.json"
    assert script.main(["resnet20", "resnet20", "--json", str(out)]) == 0
    assert capsys.readouterr().out.count("onnxruntime cpu") == 2
    figures = json.loads(out.read_text())
    assert [f["model"] for f in figures] == ["resnet20", "resnet20"]
    assert figures[0]["latency_ms"]["onnxruntime"]["1"] > 0


def test_importing_bench_does_not_import_tensorflow():
    code = "import sys, zoo.bench; assert 'tensorflow' not in sys.modules, 'tf imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
