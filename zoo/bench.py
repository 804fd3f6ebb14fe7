"""`zoo bench NAME`: parameters, training throughput and inference latency.

One call builds a registered model, exports it as a SavedModel and an ONNX
file, times inference at each batch size in every runtime a deployer would
use: Keras (`predict_on_batch`, a compiled `model(x, training=False)` and
`predict`), TensorFlow serving the SavedModel (`tf.saved_model.load(dir).serve`)
and onnxruntime on CPU; then times a few training steps with the model's
recipe. Machines are shared and noisy, so the figures that carry meaning are
the ratios between runtimes measured side by side in one run, not the
absolute milliseconds. Calls to the runtimes are interleaved (so a burst of
outside load hits all of them) and each figure is a median after warm-up
(so one slow call cannot skew it).

Example:

>>> from zoo.bench import bench, format_bench
>>> result = bench("resnet20", batch_sizes=(1, 32), repeats=20)
>>> print(format_bench(result))
>>> result.speedup("onnxruntime", 1)      # Keras ms / onnxruntime ms at batch 1
>>> result.speedup("onnxruntime", 1, against="savedmodel")

`bench(..., quantize="int8")` (`zoo bench NAME --quantize int8`) adds the
int8 ONNX file as an `onnxruntime int8` row; `zoo bench NAME --json` prints
`BenchResult.to_dict()` (figures and both ratio tables) for scripts.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from zoo import errors, factory, recipes, registry, validation
from zoo.exporting.formats import DEFAULT_FORMATS, QUANTIZED  # import no TensorFlow
from zoo.exporting.formats import FORMATS as EXPORT_FORMATS

# Keras first (the baseline), then every unquantized export format in its
# table's order; `quantize=` adds a quantized one.
FORMATS = ("keras", *DEFAULT_FORMATS)
# Rows of the latency table, in the order they are measured. The ratios are
# taken against BASELINE: `predict_on_batch` runs Keras' own compiled predict
# step without `predict()`'s per-call setup (data adapter, callbacks), so it is
# the fair "Keras" figure to set an exported runtime against.
BASELINE = "keras_predict_on_batch"
# The second ratio column: what a deployer of the SavedModel would gain.
SECOND_BASELINE = "savedmodel"
RUNTIME_LABELS = {
    "keras_predict_on_batch": "keras predict_on_batch",
    "keras_call": "keras tf.function call",
    "keras_predict": "keras predict",
    "savedmodel": "savedmodel serve",
    "onnxruntime": "onnxruntime cpu",
    "onnxruntime_int8": "onnxruntime int8",
}
# Rows compared with the float ONNX row in `to_dict()["int8_speedup"]`.
_INT8_AGAINST = "onnxruntime"
# The first call traces a graph or allocates buffers. One more slow call
# (caches settling) is absorbed by the median, so a second warm-up call would
# only cost time: seconds a call for ResNet-50 at batch 32 on two cores.
WARMUP_CALLS = 1
# The training measurement: timed steps at this batch, after one tracing step.
TRAIN_BATCH = 8
TRAIN_STEPS = 4
# Seconds per runtime and batch size after which the rounds of timed calls
# stop early, so that ResNet-50 at batch 32 on two cores finishes in
# minutes; never fewer than MIN_REPEATS rounds (or `repeats`, if smaller).
TIME_BUDGET_S = 8.0
MIN_REPEATS = 3


@dataclasses.dataclass
class BenchResult:
    """The figures of one `bench` run.

    Args:
        model: str. The registered name.
        input_shape: list of int. One example's input shape (no batch).
        input_dtype: str. The input dtype, e.g. `"float32"`.
        params: int. All parameters (`model.count_params()`).
        trainable_params: int. Trainable parameters.
        recipe: str. Recipe the training figure was compiled with
            (`"sgd"` when the model has none, `"-"` when not measured).
        train_batch: int. Batch size of the training measurement.
        train_steps: int. Timed training steps (0: not measured).
        train_examples_per_s: float or None. `train_batch` / median step
            time, the first (tracing) step excluded.
        batch_sizes: list of int. Inference batch sizes.
        repeats: int. Rounds of timed calls asked for per batch size.
        latency_ms: dict. `{runtime: {batch_size: median ms}}`; runtimes are
            keys of `RUNTIME_LABELS`.
        rounds: dict. `{batch_size: rounds timed}`; fewer than `repeats`
            where the time budget ran out. A round calls each runtime once.
        export_s: dict. `{format: seconds}` to write each artifact.
        artifact_mb: dict. `{format: size in MB}` of each artifact.
        artifact_dir: str or None. Where the artifacts were kept, if asked.
        environment: dict. Library versions and CPU count.
        quantize: str or None. `"int8"` when the int8 ONNX row was timed
            (its static scales calibrated on the random inputs: a latency
            figure only; `zoo export --quantize int8` measures accuracy).
    """

    model: str
    input_shape: list
    input_dtype: str
    params: int
    trainable_params: int
    recipe: str
    train_batch: int
    train_steps: int
    train_examples_per_s: float | None
    batch_sizes: list
    repeats: int
    latency_ms: dict
    rounds: dict
    export_s: dict
    artifact_mb: dict
    artifact_dir: str | None
    environment: dict
    quantize: str | None = None

    def speedup(self, runtime: str, batch: int, against: str = BASELINE) -> float:
        """How many times faster than `against` (Keras `predict_on_batch`) `runtime` is.

        Args:
            runtime: str. A key of `latency_ms`, e.g. `"onnxruntime"`.
            batch: int. One of `batch_sizes`.
            against: str. The runtime it is compared with, a key of
                `latency_ms`, e.g. `"savedmodel"`.

        Example:

        >>> result.speedup("onnxruntime", 1)
        2.7
        >>> result.speedup("onnxruntime", 32, against="savedmodel")
        1.1
        """
        return self.latency_ms[against][batch] / self.latency_ms[runtime][batch]

    def speedups(self, against: str) -> dict:
        """`{runtime: {batch: ratio}}` of every runtime against `against`.

        Args:
            against: str. A key of `latency_ms`.
        """
        return {
            runtime: {b: self.speedup(runtime, b, against) for b in self.batch_sizes}
            for runtime in self.latency_ms
        }

    def to_dict(self) -> dict:
        """The figures as plain Python values (JSON turns batch keys into str).

        Besides the fields, `speedup` holds the ratio tables side by side
        (`{"vs_keras_predict_on_batch": {runtime: {batch: x}}, "vs_savedmodel":
        ..., "int8_vs_onnxruntime": {batch: x}}`, each where measured), so
        scripts compare runs without recomputing them.
        """
        ratios = {f"vs_{BASELINE}": self.speedups(BASELINE)}
        if SECOND_BASELINE in self.latency_ms:
            ratios[f"vs_{SECOND_BASELINE}"] = self.speedups(SECOND_BASELINE)
        if "onnxruntime_int8" in self.latency_ms and _INT8_AGAINST in self.latency_ms:
            ratios[f"int8_vs_{_INT8_AGAINST}"] = {
                b: self.speedup("onnxruntime_int8", b, _INT8_AGAINST) for b in self.batch_sizes
            }
        return {**dataclasses.asdict(self), "speedup": ratios}


def bench(
    name: str,
    *,
    batch_sizes: Sequence[int] = (1, 32),
    repeats: int = 20,
    train_batch: int = TRAIN_BATCH,
    train_steps: int = TRAIN_STEPS,
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    overrides: Mapping | None = None,
    formats: Sequence[str] = FORMATS,
    time_budget_s: float = TIME_BUDGET_S,
    tmp_dir: str | Path | None = None,
    quantize: str | None = None,
) -> BenchResult:
    """Measures a registered model on random inputs that fit its input spec.

    Images are random integers in [0, 255] as float32, since zoo models take
    raw pixels; text models get random token ids. Training runs `model.fit`
    with the model's recipe (plain SGD if it has none) on a synthetic
    `tf.data` dataset; inference is timed in each runtime of `formats`, one
    after the other in this process.

    Args:
        name: str. A registered model name.
        batch_sizes: sequence of int. Inference batch sizes.
        repeats: int. Rounds of timed calls per batch size, after
            `WARMUP_CALLS` untimed calls of each runtime. A round calls
            every runtime once, so load from other processes hits all
            runtimes alike.
        train_batch: int. Batch size of the training measurement.
        train_steps: int. Timed training steps after one untimed tracing
            step; 0 skips training.
        input_shape: sequence of int or None. Shortcut for the
            `input_shape` override (image models).
        num_classes: int or None. Shortcut for the `num_classes` override.
        overrides: dict or None. Other builder overrides, as for
            `zoo.get_model`.
        formats: sequence of str. Subset of `FORMATS`. Keras is measured
            whatever is given, since every ratio is taken against it.
        time_budget_s: float. Seconds per runtime and batch size after
            which rounds stop early (at least `MIN_REPEATS` are kept).
        tmp_dir: str, Path or None. Where to write the exported artifacts
            and keep them; a temporary directory removed afterwards if None.
        quantize: str or None. `"int8"` adds the int8 ONNX file's row
            (`onnxruntime_int8`), made from the float ONNX file as
            `zoo.export(..., quantize="int8")` makes it; static scales are
            calibrated on the random benchmark inputs (latency only).

    Returns:
        A `BenchResult`; print it with `format_bench`.

    Example:

    >>> result = bench("resnet20", batch_sizes=(1, 32), repeats=20)
    >>> result.speedup("onnxruntime", 1)    # Keras ms / onnxruntime ms
    """
    sizes = _check_batch_sizes(batch_sizes)
    repeats = validation.check_positive_int("repeats", repeats)
    train_batch = validation.check_positive_int("train_batch", train_batch)
    train_steps = validation.check_positive_int("train_steps", train_steps, minimum=0)
    if isinstance(formats, str):
        formats = (formats,)
    for fmt in formats:
        validation.check_choice("formats", fmt, FORMATS)
    if quantize is not None:
        validation.check_choice("quantize", quantize, tuple(QUANTIZED))
        quantized = EXPORT_FORMATS[QUANTIZED[quantize]]
        formats = (*formats, *((quantized.base,) if quantized.base not in formats else ()))
        formats = (*formats, quantized.name)
    if (
        isinstance(time_budget_s, bool)
        or not isinstance(time_budget_s, (int, float))
        or not time_budget_s > 0
    ):
        raise errors.InvalidArgumentError(
            f"time_budget_s must be a number > 0. Received: time_budget_s={time_budget_s!r}."
        )
    kwargs = dict(overrides or {})
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes

    model = factory.get_model(name, **kwargs)
    input_spec = registry.get_spec(name).input_for(kwargs)
    makers = dict(_keras_calls(model))
    export_s, artifact_mb, kept = {}, {}, None
    with _artifact_dir(tmp_dir) as out:
        if tmp_dir is not None:
            kept = str(out.resolve())
        # The same exporters as `zoo.export`; each artifact is timed in its
        # format's runtime row.
        for fmt in (f for f in EXPORT_FORMATS.values() if f.name in formats):
            start = time.perf_counter()
            context = {}
            if fmt.base is not None:  # made from its base's artifact, written just before
                context = {
                    "base": out / EXPORT_FORMATS[fmt.base].artifact_name,
                    "calibration": input_spec.random_batch(32, seed=0),
                }
            path = fmt.export(model, out / fmt.artifact_name, **context)
            export_s[fmt.name] = time.perf_counter() - start
            artifact_mb[fmt.name] = _size_mb(path)
            makers[fmt.runtime] = fmt.load(path)

        latency = {runtime: {} for runtime in makers}
        rounds = {}
        for b in sizes:
            x = input_spec.random_batch(b, seed=b)
            medians, rounds[b] = _interleaved_median_ms(
                {runtime: make(x) for runtime, make in makers.items()}, repeats, time_budget_s
            )
            for runtime, ms in medians.items():
                latency[runtime][b] = ms
        del makers  # the loaded SavedModel and onnxruntime session, and their threads

    # Training last: compiling adds optimizer variables that an export after
    # it would carry, and the timed steps should not share the CPU with the
    # runtimes above.
    recipe_name, throughput = "-", None
    if train_steps:
        recipe_name, throughput = _train_throughput(
            name, model, input_spec, train_batch, train_steps
        )

    return BenchResult(
        model=name,
        input_shape=_input_shape(input_spec),
        input_dtype=str(model.inputs[0].dtype),
        params=int(model.count_params()),
        trainable_params=int(sum(math.prod(w.shape) for w in model.trainable_weights)),
        recipe=recipe_name,
        train_batch=train_batch,
        train_steps=train_steps,
        train_examples_per_s=throughput,
        batch_sizes=list(sizes),
        repeats=repeats,
        latency_ms=latency,
        rounds=rounds,
        export_s=export_s,
        artifact_mb=artifact_mb,
        artifact_dir=kept,
        environment=_environment(),
        quantize=quantize,
    )


def format_bench(result: BenchResult) -> str:
    """A readable table of a `BenchResult`.

    Args:
        result: BenchResult. From `bench`.

    Example:

    >>> print(format_bench(bench("resnet20")))
    resnet20: 271,098 parameters (269,722 trainable), input 32x32x3 float32
    train: ... examples/s at batch 8 (recipe cifar_resnet; ...)
    ...
    """
    sizes = result.batch_sizes
    shape = "x".join(map(str, result.input_shape))
    lines = [
        f"{result.model}: {result.params:,} parameters ({result.trainable_params:,} "
        f"trainable), input {shape} {result.input_dtype}"
    ]
    if result.train_examples_per_s is None:
        lines.append("train: not measured")
    else:
        lines.append(
            f"train: {result.train_examples_per_s:,.1f} examples/s at batch "
            f"{result.train_batch} (recipe {result.recipe}; median of "
            f"{result.train_steps} timed step{'s' * (result.train_steps != 1)} "
            f"after the tracing step)"
        )
    versus_savedmodel = SECOND_BASELINE in result.latency_ms
    lines.append(
        f"inference latency: median ms of up to {result.repeats} interleaved calls "
        f"after {WARMUP_CALLS} warm-up call{'s' * (WARMUP_CALLS != 1)}; speedup = "
        f"{RUNTIME_LABELS[BASELINE]} ms / runtime ms"
        + (
            f"; vs sm = {RUNTIME_LABELS[SECOND_BASELINE]} ms / runtime ms"
            if versus_savedmodel
            else ""
        )
    )
    width = max(len(RUNTIME_LABELS[r]) for r in result.latency_ms) + 2
    header = f"  {'runtime':<{width}}"
    header += "".join(f"{f'b{b} ms':>11}" for b in sizes)
    header += "".join(f"{f'b{b} speedup':>13}" for b in sizes)
    if versus_savedmodel:
        header += "".join(f"{f'b{b} vs sm':>11}" for b in sizes)
    lines.append(header)
    for runtime, by_batch in result.latency_ms.items():
        row = f"  {RUNTIME_LABELS[runtime]:<{width}}"
        row += "".join(f"{by_batch[b]:>11.2f}" for b in sizes)
        row += "".join(f"{result.speedup(runtime, b):>12.2f}x" for b in sizes)
        if versus_savedmodel:
            row += "".join(f"{result.speedup(runtime, b, SECOND_BASELINE):>10.2f}x" for b in sizes)
        lines.append(row)
    if "onnxruntime_int8" in result.latency_ms and _INT8_AGAINST in result.latency_ms:
        lines.append(
            "  int8 vs onnxruntime fp32: "
            + ", ".join(
                f"b{b} {result.speedup('onnxruntime_int8', b, _INT8_AGAINST):.2f}x" for b in sizes
            )
            + " (latency only: scales calibrated on the random inputs)"
        )
    short = [f"b{b}: {n}" for b, n in result.rounds.items() if n < result.repeats]
    if short:
        lines.append("  fewer calls (time budget ran out): " + ", ".join(short))
    if result.export_s:
        lines.append(
            "artifacts: "
            + ", ".join(
                f"{fmt} {result.artifact_mb[fmt]:.1f} MB (exported in {s:.1f} s)"
                for fmt, s in result.export_s.items()
            )
        )
    return "\n".join(lines)


def _check_batch_sizes(value) -> tuple[int, ...]:
    try:
        sizes = tuple(value)
    except TypeError:
        sizes = ()
    if not sizes or not all(
        isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in sizes
    ):
        raise errors.InvalidArgumentError(
            f"batch_sizes must be a non-empty sequence of integers >= 1, e.g. (1, 32). "
            f"Received: batch_sizes={value!r}."
        )
    return tuple(dict.fromkeys(sizes))  # drop repeats, keep the order


def _input_shape(input_spec) -> list:
    """One example's shape as benchmarked (the first input's, for BERT)."""
    example = input_spec.random_batch(1)
    first = next(iter(example.values())) if isinstance(example, dict) else example
    return [int(d) for d in first.shape[1:]]


def _interleaved_median_ms(calls: dict, repeats: int, budget_s: float) -> tuple[dict, int]:
    """Median ms of each `calls[runtime]()`, timed in rounds; and the rounds run.

    Each round calls every runtime once, so a burst of load from other
    processes on a shared machine slows all runtimes alike and their ratios
    hold, where timing one runtime after another would pin it on one.
    """
    for call in calls.values():
        for _ in range(WARMUP_CALLS):
            call()
    times = {runtime: [] for runtime in calls}
    keep_at_least = min(MIN_REPEATS, repeats)
    deadline = time.perf_counter() + budget_s * len(calls)
    for done in range(1, repeats + 1):
        for runtime, call in calls.items():
            start = time.perf_counter()
            call()
            times[runtime].append((time.perf_counter() - start) * 1000.0)
        if done >= keep_at_least and time.perf_counter() > deadline:
            break
    return {runtime: statistics.median(t) for runtime, t in times.items()}, done


def _keras_calls(model) -> dict:
    """`{runtime: make_call(x)}` for the three ways of running Keras."""
    import tensorflow as tf

    # One signature with a free batch dimension: a single trace serves every
    # batch size, as a SavedModel's `serve` does.
    specs = {t.name: tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in model.inputs}
    call = tf.function(
        lambda x: model(x, training=False),
        reduce_retracing=True,
        input_signature=[next(iter(specs.values())) if len(specs) == 1 else specs],
    )

    def keras_call(x):
        x = tf.nest.map_structure(tf.constant, x)
        return lambda: call(x).numpy()

    return {
        "keras_predict_on_batch": lambda x: lambda: model.predict_on_batch(x),
        "keras_call": keras_call,
        "keras_predict": lambda x: lambda: model.predict(x, batch_size=len(x), verbose=0),
    }


class _artifact_dir:
    """A kept subfolder of `tmp_dir`, or a temporary directory removed on exit."""

    def __init__(self, tmp_dir):
        self._tmp = None
        if tmp_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="zoo-bench-")
            self.path = Path(self._tmp.name)
        else:
            Path(tmp_dir).mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix="zoo-bench-", dir=tmp_dir))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc):
        if self._tmp is not None:
            self._tmp.cleanup()


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def train_speed(
    name: str,
    *,
    batch: int = 32,
    steps: int = 8,
    precision: str | None = None,
    jit_compile: bool | None = None,
    overrides: Mapping | None = None,
) -> float:
    """Training examples/s of a registered model with its recipe and these switches.

    The model is built in the recipe's precision (`Recipe.precision_scope`)
    and compiled by the recipe with `jit_compile`; the figure is `batch` over
    the median step time of `steps` steps after one untimed tracing step, on
    one cached random batch (the model's step, not input I/O). Compare
    switches by ratios measured in one run (`benchmarks/bench_training_switches.py`).

    Args:
        name: str. A registered model name.
        batch: int. Training batch size.
        steps: int. Timed steps.
        precision: str or None. `"float32"`, `"mixed_float16"` or
            `"mixed_bfloat16"`; None keeps the recipe's.
        jit_compile: bool or None. XLA-compile the step; None keeps the recipe's.
        overrides: dict or None. Builder overrides, as for `zoo.get_model`.

    Example:

    >>> base = train_speed("bert_tiny")
    >>> train_speed("bert_tiny", precision="mixed_bfloat16") / base
    1.3
    """
    batch = validation.check_positive_int("batch", batch)
    steps = validation.check_positive_int("steps", steps)
    recipe = _recipe_or_none(name) or recipes.Recipe("sgd", optimizer="sgd", momentum=0.9)
    switches = {"precision": precision, "jit_compile": jit_compile}
    recipe = recipe.replace(**{k: v for k, v in switches.items() if v is not None})
    kwargs = dict(overrides or {})
    with recipe.precision_scope():
        model = factory.get_model(name, **kwargs)
    input_spec = registry.get_spec(name).input_for(kwargs)
    return _time_training(model, recipe, input_spec, batch, steps)


def _recipe_or_none(name: str):
    try:
        return recipes.get_recipe(name)
    except errors.UnknownRecipeError:
        return None


def _train_throughput(name: str, model, input_spec, batch: int, steps: int) -> tuple[str, float]:
    """Training examples/s with the model's recipe: batch / median step time."""
    import keras

    recipe = _recipe_or_none(name)
    if recipe is None:
        model.compile(
            optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
            loss="sparse_categorical_crossentropy",
        )
    return (recipe.name if recipe else "sgd"), _time_training(
        model, recipe, input_spec, batch, steps
    )


def _time_training(model, recipe, input_spec, batch: int, steps: int) -> float:
    """`batch` / median step time of `model.fit` on one repeated random batch.

    Compiles with `recipe` first unless it is None (then `model` must be
    compiled already).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    classes = max(int(model.outputs[0].shape[-1]), 1)
    x = input_spec.random_batch(batch, seed=0)
    y = np.random.default_rng(1).integers(0, classes, batch).astype("int32")
    # One cached batch, repeated: the figure is the model's step, not input I/O.
    data = tf.data.Dataset.from_tensors((x, y)).repeat(steps + 1)
    if recipe is not None:
        recipe.compile(model, steps_per_epoch=steps + 1, global_batch_size=batch)

    class StepTimer(keras.callbacks.Callback):
        # Overriding on_train_batch_end also makes Keras call it in step, not
        # from a background thread, so the clock reads line up with the steps.
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_train_batch_end(self, step, logs=None):
            float(logs["loss"])  # wait for the step's result
            self.ends.append(time.perf_counter())

    timer = StepTimer()
    model.fit(data, epochs=1, verbose=0, callbacks=[timer], shuffle=False)
    # Differences of consecutive step ends; the first step (tracing) is dropped.
    durations = [b - a for a, b in zip(timer.ends, timer.ends[1:])]
    return batch / statistics.median(durations)


def _environment() -> dict:
    import os
    from importlib import metadata

    env = {"python": platform.python_version(), "cpu_count": os.cpu_count()}
    for package in ("tensorflow", "keras", "onnxruntime"):
        try:
            env[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            env[package] = None
    return env
