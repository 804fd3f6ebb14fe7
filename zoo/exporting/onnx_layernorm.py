"""One ONNX `LayerNormalization` node for each Keras 3 LayerNorm in an exported graph.

Keras 3 computes `LayerNormalization` (TensorFlow backend) as
`x * inv + (beta - mean * inv)` with `inv = rsqrt(var + eps) * gamma` and the
moments from `tf.nn.moments`; tf2onnx writes that as 12 elementwise and
reduction nodes, its `ReduceMean`s turned into `GlobalAveragePool` (for a
rank-3 input the mean over the last axis is a global pool). Neither tf2onnx's
layer-norm rewriter nor onnxruntime's fusions match this form (they expect the
`tf.keras` 2 or PyTorch ones; tf2onnx has no LayerNormalization handler, see
onnx/tensorflow-onnx#2183), so it stays 12 kernels per LayerNorm. This module
matches the form on the ONNX graph and replaces it by opset-17
`LayerNormalization`, one fused kernel (onnxruntime 1.32 does not go on to
fuse it with the residual `Add` into `SkipLayerNormalization`; checked).

Written by hand because no maintained library rewrites this form; the match is
strict (every node, constant and shape is checked) and anything else is left
as it was, so a graph with no Keras 3 LayerNorm comes back unchanged.

Example:

>>> model = onnx.load("model.onnx")
>>> fuse_layer_norms(model)      # number of LayerNorms fused
9
>>> onnx.save(model, "model.onnx")
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from zoo.exporting.onnx_graph import (
    Constants,
    inferred_shapes,
    is_op,
    opset_version,
    producers,
    remove_dead_nodes,
    set_nodes,
    with_scalar,
)


def fuse_layer_norms(model: onnx.ModelProto) -> int:
    """Replaces each Keras 3 LayerNorm subgraph of `model` (in place).

    Args:
        model: onnx.ModelProto. An opset >= 17 graph written by tf2onnx.

    Returns:
        int. How many LayerNorms were fused (0: the graph is unchanged).
    """
    graph = model.graph
    if opset_version(model) < 17:  # LayerNormalization is new in opset 17
        return 0
    # Shapes come from ONNX shape inference: a GlobalAveragePool is a mean over
    # the last axis only when its input is rank 3, and gamma and beta must
    # hold one value per feature of that axis (None: a size it cannot tell).
    shapes = inferred_shapes(model)
    producer = producers(graph)
    consts = Constants(graph)
    nodes, fused = [], 0
    for node in graph.node:
        found = _match(node, producer, consts, shapes)
        if found is None:
            nodes.append(node)
            continue
        x, gamma, beta, eps = found
        fused += 1
        name = node.name or node.output[0]
        for suffix, value in (("scale", gamma), ("bias", beta)):
            graph.initializer.append(numpy_helper.from_array(value, f"{name}/LayerNorm_{suffix}"))
        # In the place of the subgraph's last node, whose output it takes over:
        # its inputs are computed before it, so the order stays topological.
        nodes.append(
            helper.make_node(
                "LayerNormalization",
                [x, f"{name}/LayerNorm_scale", f"{name}/LayerNorm_bias"],
                [node.output[0]],
                name=f"{name}/LayerNorm",
                axis=-1,
                epsilon=eps,
            )
        )
    if fused:
        set_nodes(graph, nodes)
        remove_dead_nodes(graph)
    return fused


def _match(add, producer, consts, shapes):
    """`(x, gamma, beta, epsilon)` if `add` ends a Keras 3 LayerNorm, else None.

    The subgraph, ending at `add` (names as in Keras' `layer_normalization`):

        mean = ReduceMean_last(x)                    # GlobalAveragePool, rank 3
        var  = ReduceMean_last(Mul(Sub(x, mean), Sub(x, mean)))
        inv  = Mul(Reciprocal(Sqrt(Add(var, eps))), gamma)
        add  = Add(Mul(x, inv), Add(Mul(Neg(mean), inv), beta))

    With an all-zeros beta tf2onnx leaves out the inner `Add`.
    """
    if add.op_type != "Add":
        return None
    for left, right in (add.input, add.input[::-1]):
        scaled, shifted = producer.get(left), producer.get(right)
        if not (is_op(scaled, "Mul") and (is_op(shifted, "Add") or is_op(shifted, "Mul"))):
            continue
        for x, inv in (scaled.input, scaled.input[::-1]):
            found = _match_inv(x, inv, producer, consts, shapes)
            if found is None:
                continue
            mean, gamma, eps = found
            beta = _shifted_beta(shifted, mean, inv, producer, consts, gamma.size)
            size, features = gamma.size, (shapes.get(x) or [None])[-1]
            # One gamma per feature: known from the shape, or else implied by
            # broadcasting when size > 1 (a scalar gamma would broadcast anywhere).
            if features != size and (features is not None or size == 1):
                continue
            if beta is None or beta.dtype != np.float32 or not _is_vector(beta, size):
                continue
            return x, gamma.reshape(size), beta.reshape(size), eps
    return None


def _match_inv(x, inv, producer, consts, shapes):
    """`(mean, gamma, eps)` if `inv` is `rsqrt(var(x) + eps) * gamma`, else None."""
    mul = producer.get(inv)
    if not is_op(mul, "Mul"):
        return None
    for r, g in (mul.input, mul.input[::-1]):
        gamma = consts.get(g)
        recip = producer.get(r)
        if gamma is None or gamma.dtype != np.float32 or not _is_vector(gamma, gamma.size):
            continue
        sqrt = _parent(recip, "Reciprocal", producer)
        plus = _parent(sqrt, "Sqrt", producer)
        if not is_op(plus, "Add"):
            continue
        var_name, eps = with_scalar(plus, consts)
        var = producer.get(var_name)
        if not _is_last_axis_mean(var, shapes):
            continue
        square = producer.get(var.input[0])
        if not is_op(square, "Mul") or square.input[0] != square.input[1]:
            continue
        diff = producer.get(square.input[0])
        if not is_op(diff, "Sub") or diff.input[0] != x:
            continue
        mean = producer.get(diff.input[1])
        if _is_last_axis_mean(mean, shapes) and mean.input[0] == x and eps is not None and eps > 0:
            return diff.input[1], gamma, eps
    return None


def _shifted_beta(shifted, mean, inv, producer, consts, size):
    """beta if `shifted` is `Add(Mul(Neg(mean), inv), beta)`, else None.

    A `Mul(Neg(mean), inv)` alone is a zero beta: tf2onnx drops the `Add` of
    an all-zeros beta (an untrained or `center=False` LayerNorm).
    """
    if is_op(shifted, "Mul"):
        if _is_neg_mean_times_inv(shifted, mean, inv, producer):
            return np.zeros(size, np.float32)
        return None
    for m, b in (shifted.input, shifted.input[::-1]):
        mul, beta = producer.get(m), consts.get(b)
        if beta is not None and _is_neg_mean_times_inv(mul, mean, inv, producer):
            return beta
    return None


def _is_neg_mean_times_inv(mul, mean, inv, producer) -> bool:
    if not (is_op(mul, "Mul") and inv in mul.input):
        return False
    other = mul.input[1] if mul.input[0] == inv else mul.input[0]
    neg = producer.get(other)
    return is_op(neg, "Neg") and neg.input[0] == mean


def _is_last_axis_mean(node, shapes) -> bool:
    """A mean over the last axis that keeps it (as size 1)."""
    rank = len(shapes[node.input[0]]) if node is not None and node.input[0] in shapes else None
    if is_op(node, "GlobalAveragePool"):
        return rank == 3
    if is_op(node, "ReduceMean") and len(node.input) == 1:  # opset 17: axes is an attribute
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return attrs.get("keepdims", 1) == 1 and list(attrs.get("axes", [])) in (
            [-1],
            [rank - 1] if rank else [-1],
        )
    return False


def _is_vector(array, size) -> bool:
    """Shape `[size]`, or `[1, ..., 1, size]`: one value per feature."""
    return array.ndim >= 1 and array.shape[-1] == size and array.size == size


def _parent(node, op_type, producer):
    return producer.get(node.input[0]) if is_op(node, op_type) else None
