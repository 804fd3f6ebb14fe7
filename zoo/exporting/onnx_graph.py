"""Small helpers shared by the ONNX graph rewrites (`onnx_layernorm`, `onnx_attention`).

Each rewrite matches a form tf2onnx writes, puts fused nodes in the place of
the form's last node and then drops what no output needs any more; these are
the pieces they have in common: constants read on demand, shapes from ONNX
shape inference, and the node-list surgery.

Example:

>>> consts = Constants(model.graph)
>>> consts.get("dense/bias")          # a numpy array, or None
>>> shapes = inferred_shapes(model)   # {tensor name: [dim or None, ...]}
"""

from __future__ import annotations

import onnx
from onnx import numpy_helper


class Constants:
    """The graph's initializers as numpy arrays, converted when asked for (a
    BERT-base file holds 400 MB of them; a match reads a few).

    Args:
        graph: onnx.GraphProto.

    Example:

    >>> Constants(model.graph).get("scale")
    array(0.125, dtype=float32)
    """

    def __init__(self, graph):
        self._tensors = {t.name: t for t in graph.initializer}

    def get(self, name):
        tensor = self._tensors.get(name)
        return None if tensor is None else numpy_helper.to_array(tensor)

    def __contains__(self, name) -> bool:
        return name in self._tensors


def inferred_shapes(model: onnx.ModelProto, *, data_prop: bool = False) -> dict:
    """Every tensor's shape that ONNX shape inference can tell (None: a size it cannot).

    Args:
        model: onnx.ModelProto. Left unchanged.
        data_prop: bool. Also follow the values of shape computations
            (`Shape` -> `Gather` -> `Concat` -> `Reshape`), as tf2onnx writes
            Keras' `EinsumDense` reshapes; without it their sizes stay unknown.

    Returns:
        dict of tensor name to a list of ints or None.

    Example:

    >>> inferred_shapes(model)["query:0"]
    [None, 16, 2, 64]
    """
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=data_prop).graph
    return {
        v.name: [d.dim_value or None for d in v.type.tensor_type.shape.dim]
        for v in [*inferred.value_info, *inferred.input]
        if v.type.tensor_type.HasField("shape")
    }


def with_scalar(node, consts):
    """`(other input, float)` if one input of a two-input `node` is a constant
    scalar, else `(None, None)`.

    Args:
        node: onnx.NodeProto, e.g. an `Add` or `Mul`.
        consts: Constants of the node's graph.

    Example:

    >>> with_scalar(add_node, consts)
    ('variance:0', 0.001)
    """
    for value, other in (node.input, node.input[::-1]):
        array = consts.get(value)
        if array is not None and array.size == 1:
            return other, float(array.reshape(()))
    return None, None


def opset_version(model: onnx.ModelProto) -> int:
    """The model's default-domain opset (0 when it has none)."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def is_op(node, op_type) -> bool:
    """True when `node` exists and is a default-domain `op_type` node."""
    return node is not None and node.op_type == op_type and node.domain in ("", "ai.onnx")


def producers(graph) -> dict:
    """Tensor name to the node that writes it."""
    return {out: node for node in graph.node for out in node.output}


def consumers(graph) -> dict:
    """Tensor name to the nodes that read it."""
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def set_nodes(graph, nodes) -> None:
    """Makes `nodes` (some of them `graph`'s own) the nodes of `graph`."""
    copies = [onnx.NodeProto.FromString(node.SerializeToString()) for node in nodes]
    del graph.node[:]
    graph.node.extend(copies)


def remove_dead_nodes(graph) -> None:
    """Drops nodes and initializers that no graph output depends on any more."""
    needed = {out.name for out in graph.output}
    kept = []
    for node in reversed(graph.node):  # topological order: consumers come last
        if any(out in needed for out in node.output):
            kept.append(node)
            needed.update(node.input)
            needed.update(subgraph_inputs(node))
    set_nodes(graph, reversed(kept))
    used = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)


def subgraph_inputs(node) -> set:
    """Every name read inside `node`'s subgraphs (If, Loop, Scan bodies), which
    may come from the outer graph."""
    names = set()
    for attr in node.attribute:
        for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
            for inner in sub.node:
                names.update(inner.input)
                names.update(subgraph_inputs(inner))
    return names
