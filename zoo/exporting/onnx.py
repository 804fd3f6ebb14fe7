"""ONNX export through Keras' own `model.export(..., format="onnx")`.

tf2onnx's `from_keras` does not work with Keras 3, so Keras' exporter (which
drives tf2onnx internally) is the supported path. It needs float32 weights:
a mixed-precision model is rebuilt in float32 with the same weights first.
Each Keras LayerNorm, which tf2onnx spells out as 12 nodes, is then replaced
by one `LayerNormalization` node (`zoo.exporting.onnx_layernorm`), each
Keras attention core by one onnxruntime `MultiHeadAttention` node
(`zoo.exporting.onnx_attention`), and convolution chains of an odd width
(the keyword spotters' 45 maps) are widened with zero channels to whole
blocks of 16, which onnxruntime's fastest kernels need
(`zoo.exporting.onnx_channels`).

Keras' `MultiHeadAttention` computes its core in one of two forms: step by
step (scores, masked softmax, values) when it has attention dropout, else
through `ops.dot_product_attention`, whose einsums tf2onnx lowers to about
25 shape-computing nodes per layer that no rewrite recognises. At inference
and without a mask the two are the same function, so the export traces such
calls in the step-by-step form (`attention_in_steps`), the one the fusion
matches: the keyword transformers (`kwt_*`) and any unmasked Keras attention
without dropout get the fused node too.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from zoo import quiet
from zoo.recipes import dtype_policy_scope

# Opset 17 runs on every onnxruntime of the last three years and has
# LayerNormalization, which the text models need.
OPSET = 17


def float32_copy(model):
    """The model itself if it computes in float32, else a float32 rebuild.

    Args:
        model: keras.Model. Possibly mixed precision.
    """
    if model.dtype_policy.compute_dtype == "float32" and all(
        layer.dtype_policy.compute_dtype == "float32" for layer in model.layers
    ):
        return model
    with dtype_policy_scope("float32"):
        clone = model.__class__.from_config(_strip_dtype_policies(model.get_config()))
    _call_once(clone)
    clone.set_weights(model.get_weights())
    return clone


# Any positive rate selects Keras' step-by-step core; the dropout itself acts
# only in training, which an export never traces.
_TRACE_DROPOUT = 1e-9


@contextlib.contextmanager
def attention_in_steps(model):
    """Within the block, Keras attention of `model` without a mask computes its core step by step.

    Keras chooses the form by the layer's attention dropout
    (`MultiHeadAttention._dropout`): during a call without an attention mask,
    a layer without dropout sees a tiny positive rate, so it takes the
    step-by-step form, which then equals the `dot_product_attention` form
    exactly (softmax of the scaled scores times the values). With a mask the
    two differ where every key is masked (Keras' step-by-step softmax gives
    zeros there, `dot_product_attention` a uniform row), so masked calls keep
    their own form. Layers are restored on leaving: configs, weights and
    outputs are unchanged. Subclasses with their own `_compute_attention`
    are left alone.

    Args:
        model: keras.Model. The model about to be traced for export.

    Example:

    >>> with attention_in_steps(model):
    ...     model.export("m.onnx", format="onnx")
    """
    import keras  # here: importing this module stays free of TensorFlow

    base = keras.layers.MultiHeadAttention._compute_attention
    layers = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.MultiHeadAttention)
        and type(layer)._compute_attention is base
        and not layer._dropout
    ]
    for layer in layers:
        # An instance attribute: Keras calls `self._compute_attention`.
        layer._compute_attention = _in_steps_when_unmasked(layer, base)
    try:
        yield
    finally:
        for layer in layers:
            del layer._compute_attention


def _in_steps_when_unmasked(layer, compute):
    """`layer._compute_attention` taking the step-by-step form when no mask applies."""

    def compute_attention(query, key, value, attention_mask=None, *args, **kwargs):
        if attention_mask is not None or kwargs.get("use_causal_mask"):
            return compute(layer, query, key, value, attention_mask, *args, **kwargs)
        rate, layer._dropout = layer._dropout, _TRACE_DROPOUT
        try:
            return compute(layer, query, key, value, attention_mask, *args, **kwargs)
        finally:
            layer._dropout = rate

    return compute_attention


def _call_once(model) -> None:
    """Keras' exporter refuses a model that has never been called."""
    dummy = {
        t.name: np.zeros([1] + [d or 1 for d in t.shape[1:]], str(t.dtype)) for t in model.inputs
    }
    model(next(iter(dummy.values())) if len(dummy) == 1 else dummy, training=False)


def _strip_dtype_policies(config):
    """Drops saved dtype policies so layers take the float32 global default."""
    if isinstance(config, dict):
        return {
            key: _strip_dtype_policies(value)
            for key, value in config.items()
            if not (key == "dtype" and _is_mixed_policy(value))
        }
    if isinstance(config, list):
        return [_strip_dtype_policies(value) for value in config]
    return config


def _is_mixed_policy(value) -> bool:
    text = str(value)
    return "mixed" in text


def export_onnx(model, path, *, opset: int = OPSET, widen_channels: bool = True) -> Path:
    """Writes an ONNX file of the model with an explicit opset.

    Args:
        model: keras.Model. Exported in float32 (see `float32_copy`).
        path: str or Path. The `.onnx` file to create.
        opset: int. ONNX opset version.
        widen_channels: bool. Widen odd-width convolution chains
            (`zoo.exporting.onnx_channels`); the int8 export turns it off,
            since the zero channels would skew its calibrated ranges.

    Example:

    >>> export_onnx(model, "out/model.onnx")
    """
    path = Path(path)
    model = float32_copy(model)
    _call_once(model)
    with quiet.known_warnings_ignored(), attention_in_steps(model):  # NumPy 2 probe
        model.export(str(path), format="onnx", verbose=False, opset_version=opset)
    import onnx  # imported here: `zoo.exporting.formats` stays light for `zoo bench`

    from zoo.exporting.onnx_attention import fuse_attention
    from zoo.exporting.onnx_channels import pad_conv_channels
    from zoo.exporting.onnx_layernorm import fuse_layer_norms

    graph = onnx.load(str(path))
    # Every rewrite runs (no short-circuit): each returns how many it changed.
    changed = [fuse_layer_norms(graph), fuse_attention(graph)]
    if widen_channels:
        changed.append(pad_conv_channels(graph))
    if sum(changed):
        onnx.save(graph, str(path))
    return path
