"""`zoo bench NAME`: parameters, training throughput and inference latency.

Figures come from one run on a shared machine, so the useful output is the
ratios between runtimes measured side by side (onnxruntime vs Keras at the same
batch), not the absolute milliseconds. Medians over `repeats` calls after
warm-up keep one slow call from skewing them.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from zoo import errors, validation

RUNTIMES = ("keras", "savedmodel", "onnxruntime")
_WARMUP_CALLS = 3


@dataclasses.dataclass
class BenchResult:
    """The figures of one `bench` run.

    Args:
        model: str. The registered name.
        params: int. All parameters.
        trainable_params: int. Trainable parameters.
        input_shape: list. One example's input shape.
        train_batch: int. Batch size of the training measurement.
        train_examples_per_s: float. Training throughput after the first step.
        latency_ms: dict. `{runtime: {batch_size: median ms}}`.
        repeats: int. Timed calls per figure.
    """

    model: str
    params: int
    trainable_params: int
    input_shape: list
    train_batch: int
    train_examples_per_s: float
    latency_ms: dict
    repeats: int

    def speedup(self, runtime: str, batch: int) -> float:
        """How many times faster than Keras `runtime` is at `batch`."""
        return self.latency_ms["keras"][batch] / self.latency_ms[runtime][batch]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def bench(name: str, *, batch_sizes=(1, 32), repeats: int = 20, train_batch: int = 32,
          train_steps: int = 8, runtimes=RUNTIMES, overrides: dict | None = None) -> BenchResult:
    """Measures a registered model on random inputs of its input spec.

    Args:
        name: str. A registered model name.
        batch_sizes: tuple of int. Inference batch sizes.
        repeats: int. Timed calls per runtime and batch size.
        train_batch: int. Batch size for the training throughput.
        train_steps: int. Timed training steps (after one untimed step).
        runtimes: tuple of str. Subset of `RUNTIMES`; Keras is always measured.
        overrides: dict or None. Builder overrides, e.g. a smaller input.

    Returns:
        A `BenchResult`; print it with `format_bench`.

    Example:

    >>> print(format_bench(bench("resnet20", repeats=10)))
    """
    from zoo import recipes, registry

    batch_sizes = tuple(validation.check_positive_int("batch_sizes", b) for b in batch_sizes)
    if not batch_sizes:
        raise errors.InvalidArgumentError("batch_sizes must hold at least one size. "
                                          "Received: batch_sizes=()")
    repeats = validation.check_positive_int("repeats", repeats)
    train_batch = validation.check_positive_int("train_batch", train_batch)
    train_steps = validation.check_positive_int("train_steps", train_steps)
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise errors.InvalidArgumentError(f"runtimes must be among {list(RUNTIMES)}. "
                                          f"Received: runtimes={tuple(runtimes)!r}")
    model = registry.get_model(name, **(overrides or {}))
    recipe = recipes.get_recipe(name)

    latency = {"keras": {b: _median_ms(lambda x=_inputs(model, b): model.predict_on_batch(x),
                                       repeats) for b in batch_sizes}}
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        for runtime in runtimes:
            if runtime != "keras":
                call = _load_runtime(runtime, model, Path(tmp))
                latency[runtime] = {b: _median_ms(lambda x=_inputs(model, b): call(x), repeats)
                                    for b in batch_sizes}
    throughput = _train_throughput(model, recipe, train_batch, train_steps)
    return BenchResult(
        model=name,
        params=int(model.count_params()),
        trainable_params=int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        input_shape=[int(d) for d in model.inputs[0].shape[1:]],
        train_batch=train_batch,
        train_examples_per_s=throughput,
        latency_ms=latency,
        repeats=repeats,
    )


def format_bench(result: BenchResult) -> str:
    """A readable table of a `BenchResult`.

    Args:
        result: BenchResult. From `bench`.
    """
    sizes = list(result.latency_ms["keras"])
    head = "".join(f"{'b' + str(b) + ' ms':>11}" for b in sizes)
    ratio_head = "".join(f"{'b' + str(b) + ' vs keras':>16}" for b in sizes)
    lines = [
        f"{result.model}: {result.params:,} parameters ({result.trainable_params:,} trainable), "
        f"input {'x'.join(map(str, result.input_shape))}",
        f"train: {result.train_examples_per_s:,.1f} examples/s at batch {result.train_batch}",
        f"inference, median of {result.repeats} calls after warm-up:",
        f"  {'runtime':<12}{head}{ratio_head}",
    ]
    for runtime, by_batch in result.latency_ms.items():
        cells = "".join(f"{by_batch[b]:>11.2f}" for b in sizes)
        ratios = "".join(f"{result.speedup(runtime, b):>15.2f}x" for b in sizes)
        lines.append(f"  {runtime:<12}{cells}{ratios}")
    return "\n".join(lines)


def _inputs(model, batch: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    tensor = model.inputs[0]
    shape = [batch] + [d or 16 for d in tensor.shape[1:]]
    if "int" in str(tensor.dtype):
        return rng.integers(1, 100, shape).astype(str(tensor.dtype))
    return rng.uniform(0, 255, shape).astype("float32")


def _median_ms(call, repeats: int) -> float:
    for _ in range(_WARMUP_CALLS):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _load_runtime(runtime: str, model, tmp: Path):
    """Exports once and returns a function running the artifact in this process."""
    if runtime == "savedmodel":
        import tensorflow as tf

        from zoo.export.savedmodel import export_savedmodel

        # Keep the loaded object: its variables die with it, not with `serve`.
        loaded = tf.saved_model.load(str(export_savedmodel(model, tmp / "savedmodel")))
        return lambda x: loaded.serve(tf.constant(x)).numpy()
    import onnxruntime as ort

    from zoo.export.onnx import export_onnx

    session = ort.InferenceSession(str(export_onnx(model, tmp / "model.onnx")),
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def _train_throughput(model, recipe, batch: int, steps: int) -> float:
    """Examples per second of `fit` with the model's recipe, first step excluded."""
    import keras
    import tensorflow as tf

    classes = int(model.outputs[0].shape[-1])
    x = _inputs(model, batch)
    y = np.random.default_rng(1).integers(0, classes, batch).astype("int32")
    data = tf.data.Dataset.from_tensors((x, y)).repeat(steps + 1)
    recipe.compile(model, steps_per_epoch=steps + 1, global_batch_size=batch)

    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            if step == 0:  # the first step traces and compiles the graph
                self.start = time.perf_counter()
            self.end = time.perf_counter()

    timer = StepTimer()
    model.fit(data, epochs=1, verbose=0, callbacks=[timer], shuffle=False)
    return batch * steps / (timer.end - timer.start)
