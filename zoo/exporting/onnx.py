"""ONNX export through Keras' own `model.export(..., format="onnx")`.

tf2onnx's `from_keras` does not work with Keras 3, so Keras' exporter (which
drives tf2onnx internally) is the supported path. It needs float32 weights:
a mixed-precision model is rebuilt in float32 with the same weights first.
Each Keras LayerNorm, which tf2onnx spells out as 12 nodes, is then replaced
by one `LayerNormalization` node (`zoo.exporting.onnx_layernorm`), and each
Keras attention core by one onnxruntime `MultiHeadAttention` node
(`zoo.exporting.onnx_attention`).
"""

from __future__ import annotations

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


def export_onnx(model, path, *, opset: int = OPSET) -> Path:
    """Writes an ONNX file of the model with an explicit opset.

    Args:
        model: keras.Model. Exported in float32 (see `float32_copy`).
        path: str or Path. The `.onnx` file to create.
        opset: int. ONNX opset version.

    Example:

    >>> export_onnx(model, "out/model.onnx")
    """
    path = Path(path)
    model = float32_copy(model)
    _call_once(model)
    with quiet.known_warnings_ignored():  # Keras' NumPy 2 probe, for scripts too
        model.export(str(path), format="onnx", verbose=False, opset_version=opset)
    import onnx  # imported here: `zoo.exporting.formats` stays light for `zoo bench`

    from zoo.exporting.onnx_attention import fuse_attention
    from zoo.exporting.onnx_layernorm import fuse_layer_norms

    graph = onnx.load(str(path))
    # Both rewrites run (no short-circuit): each returns how many it fused.
    if sum([fuse_layer_norms(graph), fuse_attention(graph)]):
        onnx.save(graph, str(path))
    return path
