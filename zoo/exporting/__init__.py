"""Verified export: SavedModel and ONNX, each checked against Keras; int8 ONNX on request.

`export(model, out_dir)` writes `out_dir/savedmodel/`, `out_dir/model.onnx`
and `out_dir/metadata.json`; `quantize="int8"` adds `out_dir/model.int8.onnx`
(`zoo.exporting.quantize`), held to an accuracy gate on labelled validation
examples against the float ONNX file instead of max |diff|. Every artifact
is loaded back in a separate process in the runtime a deployer uses and
compared with the Keras model on the same inputs; the export only lands at
`out_dir` (by rename) when all pass.
The formats themselves (artifact name, exporter, clean-process runner) are the
table in `zoo.exporting.formats`. Each artifact is checked on several shapes
(batch sizes, and shorter token ids or clips: `zoo.exporting.cases`), all in
its one runner process, and `metadata.json` declares the dynamic axes the
artifacts really have.

Example:

>>> report = zoo.export(model, "out/resnet20", inputs=val_images)
>>> print(report)
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from zoo import errors
from zoo.exporting import verify
from zoo.exporting.cases import model_cases, text_cases
from zoo.exporting.formats import DEFAULT_FORMATS, QUANTIZED
from zoo.exporting.formats import FORMATS as _TABLE
from zoo.exporting.metadata import build_metadata
from zoo.exporting.onnx import OPSET, float32_copy
from zoo.exporting.report import ExportReport, FormatResult, shapes_text
from zoo.inputs import for_model as input_of

# The names of the formats `export` writes by default, in the table's order.
FORMATS = DEFAULT_FORMATS
DEFAULT_ATOL = 1e-5
# One point of accuracy: the largest drop a quantized artifact may show.
DEFAULT_MAX_ACCURACY_DROP = 0.01
# No failures in n trials bound the failure rate by about 3/n at 95% (the rule of three).
RULE_OF_THREE = 3.0
_RANDOM_EXAMPLES = 8

__all__ = ["ExportReport", "FORMATS", "FormatResult", "check_request", "export"]


def export(
    model,
    out_dir,
    *,
    formats=FORMATS,
    inputs=None,
    model_name: str | None = None,
    labels=None,
    overwrite: bool = False,
    atol: float | None = None,
    extra_metadata: dict | None = None,
    tokenizer=None,
    quantize: str | None = None,
    calibration=None,
    validation_data=None,
    max_accuracy_drop: float = DEFAULT_MAX_ACCURACY_DROP,
) -> ExportReport:
    """Exports a Keras model and verifies each artifact against it.

    Args:
        model: keras.Model. The model to export.
        out_dir: str or Path. The export directory (must not exist unless
            `overwrite`).
        formats: tuple of str or a comma-separated str. Any of `"savedmodel"`,
            `"onnx"`.
        inputs: numpy array, dict of arrays (multi-input models), or None for
            a deterministic random batch. Real examples make the check honest.
            Each artifact is also checked on the first example alone, on 7
            of them (5 when there are 7) and, where the model takes any
            length, on shorter token ids or clips (`zoo.exporting.cases`).
        model_name: str or None. Recorded in the metadata; defaults to
            `model.name`.
        labels: list of str or None. Class names, recorded in the metadata.
        overwrite: bool. Replace an existing export at `out_dir`.
        atol: float or None. Largest accepted |exported - Keras|; None takes the
            input kind's `export_atol` (1e-5; 1e-4 for waveforms, whose
            in-graph STFT sums hundreds of products per bin).
        extra_metadata: dict or None. Added to `metadata.json`.
        tokenizer: WordTokenizer, WordPieceTokenizer or None. Text models:
            `inputs` are then raw
            strings; the SavedModel's `serve` takes strings (tokenizer inside
            the graph) and the ONNX file gets the tokenizer's files beside
            it (`tokenizer.json`, Hugging Face's `tokenizer_config.json`,
            `vocabulary.txt`, ...), checked to tokenize identically.
        quantize: str or None. `"int8"` also writes `model.int8.onnx` (and
            `model.onnx`, its float source, whatever `formats` says): static
            QDQ for convolutional graphs, dynamic for LSTM and attention
            graphs (`zoo.exporting.quantize`).
        calibration: model inputs or None. Real training examples (numpy
            array, dict by input name, or raw strings with `tokenizer`) that
            calibrate static quantization; needed for convolutional models.
        validation_data: tuple `(inputs, labels)` or None. Labelled
            validation examples (inputs as for `calibration`) for the
            accuracy gate; needed with `quantize`.
        max_accuracy_drop: float. Largest accepted drop of the quantized
            artifact's accuracy below the float ONNX file's on
            `validation_data`, as a fraction (0.01: one point).

    Returns:
        An `ExportReport` (all formats passed).

    Raises:
        ExportVerificationError: an artifact differs, or a quantized one
            loses more than `max_accuracy_drop`; nothing is written.
        ExportError: bad arguments, an existing `out_dir`, or an artifact that
            does not run.

    Example:

    >>> report = zoo.export(model, "out/r20", formats="onnx", inputs=images)
    >>> report["onnx"].max_abs_diff < 1e-5
    True
    """
    import keras

    if not isinstance(model, keras.Model):
        raise errors.ExportError(f"export needs a keras.Model. Received: model={model!r}")
    out_dir, formats = check_request(
        out_dir,
        formats=formats,
        overwrite=overwrite,
        quantize=quantize,
        max_accuracy_drop=max_accuracy_drop,
    )
    quantized = _check_quantize(quantize, validation_data)
    if quantized is not None:  # the float file is its source, and is kept
        formats = tuple(dict.fromkeys((*formats, _TABLE[quantized].base, quantized)))
    if atol is None:
        atol = getattr(input_of(model), "export_atol", DEFAULT_ATOL)
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or not atol > 0:
        raise errors.InvalidArgumentError(f"atol must be a number > 0. Received: atol={atol!r}")
    # Artifacts are float32 whatever precision the model trained in, and are
    # verified against that float32 copy (a mixed model's own outputs differ
    # from it by up to 1e-2 in bfloat16).
    model = float32_copy(model)
    if tokenizer is not None:
        cases = text_cases(model, *_text_feeds(inputs, tokenizer))
    else:
        cases = model_cases(model, _feeds(model, inputs))
    expected = _keras_outputs(model, [c.keras_inputs for c in cases])
    name = model_name or model.name
    context = {}
    if quantized is not None:
        context = {
            "calibration": _model_inputs(model, calibration, tokenizer, "calibration"),
            "validation": (
                _model_inputs(model, validation_data[0], tokenizer, "validation_data"),
                np.asarray(validation_data[1]).reshape(-1),
            ),
            "max_accuracy_drop": float(max_accuracy_drop),
        }

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    staging.chmod(0o755)  # mkdtemp makes it private; an export is meant to be shared
    try:
        if tokenizer is not None:
            tokenizer.save(staging)  # tokenizer.json and Hugging Face's config among them
        results = tuple(
            _export_one(model, fmt, staging, out_dir, cases, expected, atol, tokenizer, context)
            for fmt in formats
        )
        report = ExportReport(
            name, str(out_dir), results, inputs="random" if inputs is None else "given"
        )
        if not report.passed:
            failed = [r for r in results if not r.passed]
            raise errors.ExportVerificationError(
                "Export verification failed: "
                + "; ".join(
                    _failure_text(r)
                    + (
                        ", tokenizer.json ids differ from the in-graph tokenizer"
                        if r.tokens_match is False
                        else ""
                    )
                    for r in failed
                )
                + f". Nothing was written to {str(out_dir)!r}.",
                report.to_dict(),
            )
        metadata = build_metadata(
            model,
            model_name=name,
            labels=labels,
            report=report,
            opset=OPSET if "onnx" in formats else None,
            extra=extra_metadata,
            tokenizer=tokenizer,
        )
        (staging / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str))
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _failure_text(r: FormatResult) -> str:
    if r.quantization is not None:
        return (
            f"{r.format}: accuracy {r.accuracy:.4f} against the float model's "
            f"{r.reference_accuracy:.4f} on {r.accuracy_examples} validation examples, a drop "
            f"of {r.accuracy_drop * 100:.2f} points (accepted <= {r.max_accuracy_drop * 100:g})"
        )
    return (
        f"{r.format}: max |diff| {r.max_abs_diff:.3g} (accepted <= {r.atol:g}), "
        f"argmax agreement {r.argmax_agreement:.1%} (accepted 100%), worst on "
        f"{shapes_text([r.worst_case['shapes']])}"
    )


def check_request(
    out_dir,
    *,
    formats=FORMATS,
    overwrite: bool = False,
    quantize: str | None = None,
    max_accuracy_drop: float = DEFAULT_MAX_ACCURACY_DROP,
) -> tuple[Path, tuple]:
    """Checks an export's destination and settings before anything is built or read.

    `export` calls it first; so do callers that gather examples before
    exporting (`zoo.training.export_run` reads a run's model and data), so a
    misspelt format or an existing directory fails at once.

    Args:
        out_dir: str or Path. The export directory.
        formats, overwrite, quantize, max_accuracy_drop: as for `export`.

    Returns:
        `(out_dir as a Path, formats as a tuple of names)`.

    Raises:
        InvalidArgumentError: an unknown format or quantization, or a drop
            outside [0, 1].
        ExportError: `out_dir` is a file, or exists without `overwrite`.

    Example:

    >>> check_request("out/r20", formats="onnx")
    (PosixPath('out/r20'), ('onnx',))
    """
    formats = _check_formats(formats)
    if quantize is not None and quantize not in QUANTIZED:
        raise errors.InvalidArgumentError(
            f"quantize must be None or one of {list(QUANTIZED)}. Received: quantize={quantize!r}"
        )
    if (
        isinstance(max_accuracy_drop, bool)
        or not isinstance(max_accuracy_drop, (int, float))
        or not 0 <= max_accuracy_drop <= 1
    ):
        raise errors.InvalidArgumentError(
            "max_accuracy_drop must be a fraction in [0, 1] (0.01: one point of accuracy). "
            f"Received: max_accuracy_drop={max_accuracy_drop!r}"
        )
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        # overwrite replaces an export, never a file that is something else
        raise errors.ExportError(
            f"Export directory {str(out_dir)!r} is an existing file, not a directory; "
            f"an export is a directory. Received: out_dir={str(out_dir)!r}; pass a new or "
            f"an export directory path."
        )
    if out_dir.exists() and not overwrite:
        raise errors.ExportError(
            f"Export directory {str(out_dir)!r} already exists; pass overwrite=True "
            f"(`zoo export --overwrite`) to replace it, or choose another directory."
        )
    return out_dir, formats


def _check_quantize(quantize, validation_data) -> str | None:
    """The quantized format `quantize` adds (None for none); it needs labelled data."""
    if quantize is None:
        return None
    if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
        raise errors.InvalidArgumentError(
            f"quantize={quantize!r} verifies the quantized model by its accuracy: pass "
            "validation_data=(inputs, labels), labelled validation examples. Received: "
            f"validation_data={str(validation_data)[:80]}"
        )
    return QUANTIZED[quantize]


def _model_inputs(model, inputs, tokenizer, argument: str):
    """Model inputs (checked arrays) from arrays, dicts, or raw texts with a tokenizer."""
    if inputs is None:
        return None
    if tokenizer is not None and _is_texts(inputs):
        ids = tokenizer(list(np.asarray(inputs).tolist()))
        inputs = {k: v.numpy() for k, v in ids.items()} if isinstance(ids, dict) else ids.numpy()
    try:
        feeds = _feeds(model, inputs)
    except errors.InvalidArgumentError as err:
        raise errors.InvalidArgumentError(f"{argument}: {err}") from None
    return next(iter(feeds.values())) if len(feeds) == 1 else feeds


def _is_texts(inputs) -> bool:
    values = np.asarray(inputs) if isinstance(inputs, (list, tuple, np.ndarray)) else None
    return values is not None and values.dtype.kind in "US"


def _check_formats(formats) -> tuple:
    names = formats.split(",") if isinstance(formats, str) else formats
    try:  # a non-iterable (formats=5) gets the same message as an unknown name
        stripped = [n.strip() if isinstance(n, str) else n for n in names or ()]
        chosen = tuple(dict.fromkeys(n for n in stripped if n != ""))
    except TypeError:
        chosen = ()
    if not chosen or any(f not in FORMATS for f in chosen):
        raise errors.InvalidArgumentError(  # quote what the caller passed, not our parse
            f"formats must name one or more of {list(FORMATS)}. Received: formats={formats!r}"
        )
    return chosen


def _feeds(model, inputs) -> dict:
    """One float32/int32 array per model input, keyed by input name, checked."""
    specs = {t.name: t for t in model.inputs}
    if inputs is None:
        inputs = input_of(model).random_batch(_RANDOM_EXAMPLES)
    if not isinstance(inputs, dict):
        if len(specs) != 1:
            raise errors.InvalidArgumentError(
                f"This model has inputs {sorted(specs)}; pass inputs as a dict keyed by "
                f"those names. Received: inputs of type {type(inputs).__name__}"
            )
        inputs = {next(iter(specs)): inputs}
    if set(inputs) != set(specs):
        raise errors.InvalidArgumentError(
            f"inputs must have the keys {sorted(specs)}. Received: {sorted(inputs)}"
        )
    feeds = {}
    for key, tensor in specs.items():
        value = np.asarray(inputs[key])
        want = tuple(tensor.shape)
        if value.ndim != len(want) or any(
            w is not None and w != v for w, v in zip(want[1:], value.shape[1:])
        ):
            raise errors.InvalidArgumentError(
                f"inputs[{key!r}] must have shape {_shape_text(want)}. "
                f"Received: shape {value.shape}"
            )
        feeds[key] = value.astype(str(tensor.dtype).replace("tf.", ""))
    return feeds


def _text_feeds(texts, tokenizer):
    """Raw texts for the runners and the in-graph token ids for Keras."""
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    if (
        not isinstance(texts, (list, tuple))
        or not texts
        or not all(isinstance(t, str) for t in texts)
    ):
        raise errors.InvalidArgumentError(
            "With a tokenizer, inputs must be a non-empty list of strings (real texts to "
            f"verify on). Received: inputs={str(texts)[:80]}"
        )
    ids = tokenizer(list(texts))
    # BERT tokenizers return token, segment and mask ids; word tokenizers one matrix.
    token_ids = {k: v.numpy() for k, v in ids.items()} if isinstance(ids, dict) else ids.numpy()
    return np.array(texts, dtype=str), token_ids


def _keras_outputs(model, case_inputs: list, chunk: int = 32) -> list:
    """The model's outputs for each case, called in chunks of `chunk` rows.

    Not `model.predict`: its tf.function retraces for every case's shape
    (about a second each, and a retracing warning), where a direct call on a
    few examples takes milliseconds and gives the same numbers. Recurrent
    models are the exception: called eagerly, an RNN runs its time loop op by
    op from Python (about 4 s for 256 steps of a small LSTM), so they are
    called through one tf.function traced once for all the cases.
    """
    if _has_recurrence(model):
        call = _one_trace(model, case_inputs)
    else:

        def call(part):
            return model(part, training=False)

    outputs = []
    for inputs in case_inputs:
        first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
        parts = []
        for start in range(0, len(first), chunk):
            rows = slice(start, start + chunk)
            part = (
                {k: v[rows] for k, v in inputs.items()}
                if isinstance(inputs, dict)
                else inputs[rows]
            )
            parts.append(np.asarray(call(part)))
        outputs.append(np.concatenate(parts))
    return outputs


def _has_recurrence(model) -> bool:
    import keras

    return any(isinstance(layer, keras.layers.RNN) for layer in model._flatten_layers())


def _one_trace(model, case_inputs: list):
    """`model` as a tf.function whose signature fits every case: an axis the
    cases disagree on (batch, token count) is left unknown."""
    import tensorflow as tf

    def spec(arrays):
        shapes = {a.shape for a in arrays}
        dims = [
            None if i == 0 or len({s[i] for s in shapes}) > 1 else d
            for i, d in enumerate(arrays[0].shape)
        ]
        return tf.TensorSpec(dims, tf.as_dtype(arrays[0].dtype))

    if isinstance(case_inputs[0], dict):
        signature = {name: spec([c[name] for c in case_inputs]) for name in case_inputs[0]}
    else:
        signature = spec([np.asarray(c) for c in case_inputs])
    return tf.function(lambda x: model(x, training=False), input_signature=[signature])


def _shape_text(shape) -> str:
    return "(" + ", ".join("batch" if i == 0 else str(d) for i, d in enumerate(shape)) + ")"


def _export_one(
    model, fmt, staging, out_dir, cases, expected, atol, tokenizer, context
) -> FormatResult:
    """Writes `fmt` into `staging`, runs it on every case in one clean process,
    compares each case with Keras; the result holds the worst figures. A
    quantized format is made from its base's artifact and also goes through
    the accuracy gate (`_gated`)."""
    start = time.perf_counter()
    entry = _TABLE[fmt]
    artifact = staging / entry.artifact_name
    base = staging / _TABLE[entry.base].artifact_name if entry.base else None
    try:
        entry.export(
            model, artifact, tokenizer=tokenizer, base=base, calibration=context.get("calibration")
        )
    except errors.ZooError:
        raise
    except Exception as err:  # converters raise many types; name the format
        raise errors.ExportError(f"Exporting {model.name!r} to {fmt} failed: {err}") from err
    ran = verify.run_artifact(fmt, artifact, [case.feeds for case in cases])
    checked, tokens_match = [], None
    for case, want, got in zip(cases, expected, ran["cases"]):
        diff, agreement = verify.compare(want, got["outputs"])
        checked.append(
            {
                "name": case.name,
                "shapes": case.shapes,
                "max_abs_diff": diff,
                "argmax_agreement": agreement,
            }
        )
        if "token_ids" in got:  # the deployer's tokenizer.json against the in-graph tokenizer
            same = bool(np.array_equal(got["token_ids"], case.token_ids))
            tokens_match = same and tokens_match is not False
    result = FormatResult(
        fmt,
        str(out_dir / entry.artifact_name),
        max(c["max_abs_diff"] for c in checked),
        min(c["argmax_agreement"] for c in checked),
        int(expected[0].shape[0]),
        float(atol),
        0.0,
        tokens_match,
        tuple(checked),
        ran["declared"],
    )
    if entry.quantize is not None:
        result = _gated(result, entry, artifact, base, context)
    return dataclasses.replace(result, seconds=time.perf_counter() - start)


def _gated(result: FormatResult, entry, artifact, base, context) -> FormatResult:
    """The result with the accuracy gate's figures: the quantized artifact and
    its float base, each run in a clean process on the labelled examples."""
    from zoo.exporting.quantize import quantization_mode

    inputs, labels = context["validation"]
    quantized = verify.accuracy(entry.name, artifact, inputs, labels)
    reference = verify.accuracy(entry.base, base, inputs, labels)
    _warn_small_gate(quantized["examples"], context["max_accuracy_drop"])
    return dataclasses.replace(
        result,
        quantization=quantization_mode(base),
        accuracy=quantized["accuracy"],
        reference_accuracy=reference["accuracy"],
        max_accuracy_drop=context["max_accuracy_drop"],
        accuracy_examples=quantized["examples"],
        latency_ms=quantized["latency_ms"],
        reference_latency_ms=reference["latency_ms"],
    )


def _warn_small_gate(examples: int, max_drop: float) -> None:
    """Warns when the gate's examples are too few to bound the drop it accepts.

    With no accuracy lost on `n` examples, a true drop up to about `3 / n`
    is still plausible (the rule of three, 95%): 4 examples bound nothing
    below 75 points, 300 bound one point.
    """
    if max_drop <= 0 or examples * max_drop >= RULE_OF_THREE:
        return
    warnings.warn(
        f"The int8 accuracy gate ran on {examples} validation examples: too few to show "
        f"a drop of at most {max_drop * 100:g} point{'' if max_drop == 0.01 else 's'} (even "
        f"with none seen, a drop up to "
        f"{min(1.0, RULE_OF_THREE / examples) * 100:.0f} points stays plausible). Accepted "
        f"without this warning: at least {math.ceil(RULE_OF_THREE / max_drop)} examples; "
        f"gate on a larger validation split.",
        stacklevel=3,
    )


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Renames the verified export in; an old one is removed only afterwards."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    trash = out_dir.with_name(f".{out_dir.name}.old-{time.time_ns()}")
    out_dir.rename(trash)
    try:
        staging.rename(out_dir)
    except OSError:
        trash.rename(out_dir)  # put the previous export back
        raise
    shutil.rmtree(trash, ignore_errors=True)
