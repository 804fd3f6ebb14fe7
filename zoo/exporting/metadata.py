"""`metadata.json` beside the artifacts: what a deployer needs to call them."""

from __future__ import annotations

import datetime
import importlib.metadata
from pathlib import Path

from zoo import registry
from zoo.exporting.cases import axis_names
from zoo.inputs import for_model


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def input_spec_of(model, model_name: str | None):
    """The input spec: the registered one when `model_name` is registered.

    Args:
        model: keras.Model. The exported model.
        model_name: str or None. Its registered name, for the richer spec.
    """
    if model_name and model_name in registry.list_models():
        return registry.get_spec(model_name).input
    return for_model(model)


def build_metadata(model, *, model_name, labels, report, opset, extra, tokenizer=None) -> dict:
    """The JSON document written as `metadata.json`.

    Args:
        model: keras.Model. The exported model.
        model_name: str. Its name.
        labels: list of str or None. Class names in output order.
        report: ExportReport. The verification figures.
        opset: int. The ONNX opset used.
        extra: dict. Caller's additions (run dir, dataset, metrics).
        tokenizer: WordTokenizer or None. For text exports.
    """
    described = input_spec_of(model, model_name).metadata(model)
    return {
        "model": model_name,
        "inputs": described["inputs"],
        "outputs": {
            "shape": [None, int(model.outputs[0].shape[-1])],
            "meaning": "class probabilities" if _ends_in_softmax(model) else "logits",
        },
        "labels": list(labels) if labels is not None else None,
        "preprocessing": described["preprocessing"],
        **(_text_section(tokenizer) if tokenizer is not None else {}),
        "dynamic_axes": dynamic_axes(model, report),
        "verified_shapes": {r.format: r.shapes for r in report.formats},
        # Paths relative to the export directory: they stay right when it moves.
        "artifacts": {r.format: Path(r.path).name for r in report.formats},
        "verification": _relative(report.to_dict()),
        **_quantized_section(report),
        "onnx_opset": opset,
        "versions": {
            p: _version(p)
            for p in ("zoo", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy")
        },
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }


def dynamic_axes(model, report) -> dict:
    """`{input: {axis: name}}`: the axes every artifact taking that input leaves free.

    Read from what the artifacts declare (the ONNX graph's inputs as
    onnxruntime loads them, the SavedModel's signatures), not assumed from
    the Keras model: an axis a converter fixed is not declared dynamic.

    Args:
        model: keras.Model. The exported model (its input dtypes name axes).
        report: ExportReport. Holds each artifact's declared input shapes.

    Example:

    >>> dynamic_axes(model, report)
    {'token_ids': {'0': 'batch', '1': 'steps'}}
    """
    dtypes = {t.name: str(t.dtype) for t in model.inputs}
    declared = {}  # input -> the shapes the artifacts that take it declare
    for result in report.formats:
        for name, shape in (result.input_shapes or {}).items():
            declared.setdefault(name, []).append(shape)
    axes = {}
    for name, shapes in declared.items():
        named = axis_names(name, len(shapes[0]), dtypes.get(name, "string"))
        free = [
            str(axis)
            for axis in range(len(shapes[0]))
            if all(len(s) == len(shapes[0]) and s[axis] is None for s in shapes)
        ]
        axes[name] = {axis: named[axis] for axis in free}
    return axes


def _quantized_section(report) -> dict:
    """`{"quantized": {format: gate figures}}` when the export holds a quantized artifact."""
    gated = {
        r.format: {
            "artifact": Path(r.path).name,
            "mode": r.quantization,
            "accuracy": r.accuracy,
            "float_accuracy": r.reference_accuracy,
            "accuracy_drop": r.accuracy_drop,
            "max_accuracy_drop": r.max_accuracy_drop,
            "examples": r.accuracy_examples,
            "latency_ms": r.latency_ms,
            "float_latency_ms": r.reference_latency_ms,
            "runtime": "onnxruntime CPUExecutionProvider, default session options",
        }
        for r in report.formats
        if r.quantization is not None
    }
    return {"quantized": gated} if gated else {}


def _relative(verification: dict) -> dict:
    verification = {k: v for k, v in verification.items() if k != "out_dir"}
    verification["formats"] = [{**f, "path": Path(f["path"]).name} for f in verification["formats"]]
    return verification


def _ends_in_softmax(model) -> bool:
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", "") == "softmax"


def _text_section(tokenizer) -> dict:
    wordpiece = tokenizer.kind == "wordpiece"
    return {
        "preprocessing": "savedmodel: serve(texts=tf.string [batch]) tokenizes inside the graph"
        + (
            " (import tensorflow_text before tf.saved_model.load: the WordPiece ops live there)"
            if wordpiece
            else " (core TensorFlow ops only)"
        )
        + "; serve_token_ids takes the ids; onnx: int32 "
        + ("token_ids, segment_ids, padding_mask" if wordpiece else "token_ids")
        + " [batch, steps] from tokenizer.json",
        "tokenizer": {
            "type": tokenizer.kind,
            "files": list(tokenizer.saved_files),
            "sequence_length": tokenizer.sequence_length,
            "vocabulary_size": tokenizer.vocabulary_size,
            "padding_id": 0,
            "load": "tokenizers.Tokenizer.from_file('tokenizer.json'), or "
            "transformers.AutoTokenizer.from_pretrained(export_dir); pad with "
            "pad_token's id to model_max_length (tokenizer_config.json)",
        },
    }
