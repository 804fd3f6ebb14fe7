"""zoo bench: every runtime measured, figures well formed, bad arguments refused."""

import pytest

from zoo import errors
from zoo.bench import RUNTIMES, bench, format_bench
from zoo.cli import main

TINY = {"input_shape": (8, 8, 1), "num_classes": 3}


def test_bench_measures_every_runtime():
    result = bench("resnet20", batch_sizes=(1, 4), repeats=2, train_batch=4, train_steps=2,
                   overrides=TINY)
    import zoo

    assert result.params == zoo.get_model("resnet20", **TINY).count_params()
    assert result.input_shape == [8, 8, 1] and result.train_examples_per_s > 0
    assert set(result.latency_ms) == set(RUNTIMES)
    for by_batch in result.latency_ms.values():
        assert set(by_batch) == {1, 4} and all(ms > 0 for ms in by_batch.values())
    assert result.speedup("keras", 1) == 1.0
    text = format_bench(result)
    for word in ("resnet20", "examples/s", "onnxruntime", "savedmodel", "b4 vs keras"):
        assert word in text


def test_cli_bench(capsys):
    code = main(["bench", "resnet20", "--batch-sizes", "2", "--repeats", "1", "--train-batch", "2",
                 "--train-steps", "1", "--set", "input_shape=(8,8,1)", "--set", "num_classes=3"])
    assert code == 0 and "onnxruntime" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_sizes=(0,)), "batch_sizes=0"),
    (dict(repeats=0), "repeats=0"),
    (dict(runtimes=("tflite",)), "tflite"),
])
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(errors.InvalidArgumentError, match=match):
        bench("resnet20", overrides=TINY, **kwargs)


def test_cli_bad_batch_sizes(capsys):
    assert main(["bench", "resnet20", "--batch-sizes", "1,x"]) == 2
    assert "--batch-sizes" in capsys.readouterr().err
