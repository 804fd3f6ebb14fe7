"""One onnxruntime `MultiHeadAttention` node for each Keras attention core in an exported graph.

Keras 3's `MultiHeadAttention` (which keras-hub's `TransformerEncoder`, BERT
and the zoo's text encoders use) reaches ONNX through tf2onnx as separate
kernels over the `[batch, heads, query, key]` score tensor: the scores'
`MatMul`, a full `Transpose` of them (tf2onnx's einsum lowering), the padding
mask applied as `Mul` + `Add` (Keras' `where`), `Softmax`, the mask applied
again as `Mul` + `Add`, then the `MatMul` with the values. Each pass reads and
writes the whole score tensor: for bert_tiny at 512 tokens they were about 60%
of onnxruntime's time at batch 32 (profiled). onnxruntime's transformer
optimizer does not match this form (see the changelog), so this module does:
the core becomes one `com.microsoft.MultiHeadAttention` node, onnxruntime's
fused kernel, fed the projected queries, keys and values and the
padding mask.

Exactness, checked by the export's own verification: the fused kernel adds
`mask_filter_value` (Keras' large negative number) to masked scores where Keras
replaces them by it; both give a probability of exactly 0 to every masked key
of a row that has an unmasked one. A row whose keys are all masked (an empty
text) is uniform in the fused kernel but all zeros in Keras (its second
`where`), so the output is multiplied by "any key unmasked" per example.

Written by hand because no maintained library rewrites this form. The match is
strict: Keras' step-by-step core (what `MultiHeadAttention` runs when it has
attention dropout, as the zoo's text models do), a key-only padding mask with
a row per example (shape `[batch, 1, 1, keys]`) or none, one constant scalar
scale on the query or key, single-use intermediates, known head count and
size. Any other attention (causal or per-query masks, returned scores, the
`ops.dot_product_attention` form Keras uses without dropout) stays as
tf2onnx wrote it; `zoo.exporting.onnx.export_onnx` traces unmasked
attention without dropout (`kwt_*`) step by step, so that it is fused too.

Example:

>>> model = onnx.load("model.onnx")
>>> fuse_attention(model)         # number of attention cores fused
2
>>> onnx.save(model, "model.onnx")
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
from onnx import helper, numpy_helper

from zoo.exporting.onnx_graph import (
    Constants,
    consumers,
    inferred_shapes,
    is_op,
    opset_version,
    producers,
    remove_dead_nodes,
    set_nodes,
    with_scalar,
)

MS_DOMAIN = "com.microsoft"
# Layouts of the score MatMul's operands: `[batch, heads, seq, depth]` is a
# transpose of the projection's `[batch, seq, heads, depth]` by _AS_BHSD, and
# `[batch, heads, depth, seq]` by _AS_BHDS.
_AS_BHSD = [0, 2, 1, 3]
_AS_BHDS = [0, 2, 3, 1]
_SWAP_LAST = [0, 1, 3, 2]


@dataclasses.dataclass
class _Core:
    """One matched attention core: its sources and the tensor it computes."""

    query: str  # [batch, query, heads, depth], before any scaling
    key: str  # [batch, key, heads, depth]
    value: str  # [batch, key, heads, depth]
    heads: int
    depth: int
    scale: float
    output: str  # [batch, heads, query, depth], the values' MatMul output
    mask: str | None = None  # bool [batch, 1, 1, key]
    mask_float: str | None = None  # the same as float32
    fill: float = 0.0  # the score of a masked key


def fuse_attention(model: onnx.ModelProto) -> int:
    """Replaces each Keras attention core of `model` by `MultiHeadAttention` (in place).

    Args:
        model: onnx.ModelProto. An opset >= 13 graph written by tf2onnx.

    Returns:
        int. How many attention cores were fused (0: the graph is unchanged).
    """
    graph = model.graph
    opset = opset_version(model)
    if opset < 13:  # Softmax over the last axis only from opset 13
        return 0
    if not any(is_op(node, "Softmax") for node in graph.node):
        return 0  # skips shape inference over an image model's graph
    # The head count and size are constants of the projections' reshapes.
    shapes = inferred_shapes(model, data_prop=True)
    producer = producers(graph)
    readers = consumers(graph)
    consts = Constants(graph)
    cores = {}
    for node in graph.node:
        core = _match(node, producer, readers, consts, shapes)
        if core is not None:
            cores[core.output] = core
    if not cores:
        return 0
    nodes = []
    for node in graph.node:
        core = cores.get(node.output[0]) if node.output else None
        if core is None:
            nodes.append(node)
        else:
            # In the place of the values' MatMul, whose output it takes over:
            # every source is computed before it, so the order stays topological.
            nodes.extend(_fused_nodes(core, node.name or core.output, graph, opset))
    set_nodes(graph, nodes)
    remove_dead_nodes(graph)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return len(cores)


def _match(softmax, producer, readers, consts, shapes):
    """A `_Core` if `softmax` is the middle of a Keras attention core, else None."""
    if not is_op(softmax, "Softmax") or len(shapes.get(softmax.input[0], [])) != 4:
        return None
    axis = _attribute(softmax, "axis", -1)
    if axis in (-1, 3):
        scores, mask, mask_float, fill = _unmasked(softmax.input[0], producer, readers, consts)
        probabilities, last = _single_reader(softmax.output[0], readers), softmax.output[0]
        if mask is not None:
            probabilities, last = _masked_again(
                probabilities, mask_float, producer, readers, consts
            )
        sources = _score_sources(scores, producer, readers, consts, shapes)
    elif axis == 2:
        # Unmasked, tf2onnx moves the scores' transpose past the softmax:
        # Transpose(Softmax(MatMul(key, query^T), axis=2), swap the last two).
        swap = _single_reader(softmax.output[0], readers)
        if not is_op(swap, "Transpose") or _attribute(swap, "perm", None) != _SWAP_LAST:
            return None
        mask, mask_float, fill = None, None, 0.0
        probabilities, last = _single_reader(swap.output[0], readers), swap.output[0]
        sources = _score_sources(softmax.input[0], producer, readers, consts, shapes, swapped=True)
    else:
        return None
    if not is_op(probabilities, "MatMul") or probabilities.input[0] != last:
        return None
    value = _transposed_source(probabilities.input[1], _AS_BHSD, producer, consts, shapes)
    if sources is None or value is None:
        return None
    query, key, scale = sources
    layouts = {_heads_and_depth(shapes.get(t)) for t in (query, key, value)}
    if len(layouts) != 1:
        return None
    ((heads, depth),) = layouts
    if not (heads and depth):
        return None
    if mask is not None:
        mask_shape = shapes.get(mask) or []
        # A key-only padding mask with one row per example (a mask broadcast
        # over the batch would need a row for each in the fused node).
        if len(mask_shape) != 4 or mask_shape[1:3] != [1, 1] or 1 in (mask_shape[0], mask_shape[3]):
            return None
    return _Core(
        query=query,
        key=key,
        value=value,
        heads=heads,
        depth=depth,
        scale=scale,
        output=probabilities.output[0],
        mask=mask,
        mask_float=mask_float,
        fill=fill,
    )


def _unmasked(scores, producer, readers, consts):
    """`(raw scores, bool mask, float mask, fill)` for Keras' masked scores.

    Keras' `where(mask, scores, fill)` reaches ONNX as
    `Add(Mul(Cast(mask), scores), Mul(Cast(Not(mask)), fill))`; anything else
    is taken as unmasked scores: `(scores, None, None, 0.0)`.
    """
    add = producer.get(scores)
    if is_op(add, "Add"):
        for kept, filled in (add.input, add.input[::-1]):
            mask_float, raw = _cast_times(kept, producer)
            if _single_reader(kept, readers) is None:
                continue
            mask = _cast_source(mask_float, producer)
            inverse, fill = _scaled(filled, producer, consts)
            negated = producer.get(_cast_source(inverse, producer))
            if mask and is_op(negated, "Not") and negated.input[0] == mask and fill and fill < 0:
                return raw, mask, mask_float, fill
    return scores, None, None, 0.0


def _masked_again(node, mask_float, producer, readers, consts):
    """`(reader, tensor)` after Keras' second `where(mask, probabilities, 0)`,
    else `(None, None)`.

    It reaches ONNX as `Add(Mul(mask_float, p), zeros)`; `tensor` is the
    `Add`'s output and `reader` its one reader.
    """
    if not is_op(node, "Mul") or mask_float not in node.input:
        return None, None
    add = _single_reader(node.output[0], readers)
    if not is_op(add, "Add"):
        return None, None
    zeros = add.input[1] if add.input[0] == node.output[0] else add.input[0]
    if not _is_zero(zeros, producer, consts):
        return None, None
    return _single_reader(add.output[0], readers), add.output[0]


def _score_sources(scores, producer, readers, consts, shapes, swapped=False):
    """`(query, key, scale)` of `scores[b, h, q, k] = scale * query . key`, or None.

    tf2onnx writes Keras' `einsum(key, query)` as `MatMul(key, query^T)`
    followed by a `Transpose` of the last two axes; an untransposed product is
    `MatMul(query, key^T)`. `swapped`: `scores` is `[b, h, k, q]`, the
    transpose comes later.
    """
    if _single_reader(scores, readers) is None:
        return None
    node = producer.get(scores)
    first_is_query = not swapped
    if not swapped and is_op(node, "Transpose") and _attribute(node, "perm", None) == _SWAP_LAST:
        if _single_reader(node.input[0], readers) is not node:
            return None
        node, first_is_query = producer.get(node.input[0]), False
    if not is_op(node, "MatMul") or _single_reader(node.output[0], readers) is None:
        return None
    first, first_scale = _scaled_source(node.input[0], _AS_BHSD, producer, consts, shapes)
    second, second_scale = _scaled_source(node.input[1], _AS_BHDS, producer, consts, shapes)
    if first is None or second is None or (first_scale != 1.0 and second_scale != 1.0):
        return None
    query, key = (first, second) if first_is_query else (second, first)
    return query, key, first_scale * second_scale


def _scaled_source(name, perm, producer, consts, shapes):
    """`(source, scale)` for `Transpose(source [* scale], perm)`, else `(None, 1.0)`."""
    source = _transposed_source(name, perm, producer, consts, shapes)
    if source is None:
        return None, 1.0
    unscaled, scale = _scaled(source, producer, consts)
    if unscaled is not None:
        return unscaled, scale
    return source, 1.0


def _transposed_source(name, perm, producer, consts, shapes):
    """`source` for `Transpose(source, perm)` of a `[batch, seq, heads, depth]` tensor.

    With one head, tf2onnx writes the `[batch, 1, seq, depth]` layout as a
    `Reshape`, often straight from the projection's `[batch, seq, depth]`
    (as in `kwt_1`); that source is returned too.
    """
    node = producer.get(name)
    if is_op(node, "Transpose") and _attribute(node, "perm", None) == perm:
        return node.input[0]
    if perm != _AS_BHSD or not is_op(node, "Reshape"):
        return None
    target, source_shape = consts.get(node.input[1]), shapes.get(node.input[0])
    if target is None or _heads_and_depth(source_shape)[0] != 1:
        return None
    seq, depth = source_shape[1], source_shape[-1]
    if seq and depth and target.tolist() in ([-1, 1, seq, depth], [0, 1, seq, depth]):
        return node.input[0]
    return None


def _heads_and_depth(shape):
    """`(heads, depth)` of a `[batch, seq, heads, depth]` or one-head `[batch, seq, depth]`
    shape, else `(None, None)`."""
    if shape and len(shape) == 4:
        return shape[2], shape[3]
    if shape and len(shape) == 3:
        return 1, shape[2]
    return None, None


def _scaled(name, producer, consts):
    """`(x, c)` if `name` is `Mul(x, c)` with a constant scalar c, else `(None, None)`."""
    node = producer.get(name)
    if not is_op(node, "Mul"):
        return None, None
    return with_scalar(node, consts)


def _cast_times(name, producer):
    """`(float mask, x)` for `Mul(Cast(mask), x)` (either order), else `(None, None)`."""
    node = producer.get(name)
    if not is_op(node, "Mul"):
        return None, None
    for cast, other in (node.input, node.input[::-1]):
        if _cast_source(cast, producer):
            return cast, other
    return None, None


def _cast_source(name, producer):
    """The bool or float input of `Cast(..., to=FLOAT)`, else None."""
    node = producer.get(name) if name else None
    if is_op(node, "Cast") and _attribute(node, "to", None) == onnx.TensorProto.FLOAT:
        return node.input[0]
    return None


def _is_zero(name, producer, consts) -> bool:
    """A constant of zeros, or `Mul(0, x)` (tf2onnx's `where(mask, p, 0)` fill)."""
    array = consts.get(name)
    if array is not None:
        return not np.any(array)
    node = producer.get(name)
    if is_op(node, "Mul"):
        _, value = with_scalar(node, consts)
        return value == 0.0
    return False


def _single_reader(name, readers):
    found = readers.get(name, [])
    return found[0] if len(found) == 1 else None


def _attribute(node, name, default):
    for attr in node.attribute:
        if attr.name == name:
            value = helper.get_attribute_value(attr)
            return list(value) if isinstance(value, (list, tuple)) else value
    return default


def _fused_nodes(core: _Core, name: str, graph, opset: int) -> list:
    """The nodes computing `core.output` with one `MultiHeadAttention`."""
    width = core.heads * core.depth

    def const(suffix, values):
        tensor = numpy_helper.from_array(np.asarray(values, np.int64), f"{name}/{suffix}")
        graph.initializer.append(tensor)
        return tensor.name

    flat = const("flat_heads", [0, 0, width])
    split = const("split_heads", [0, 0, core.heads, core.depth])
    nodes = [
        helper.make_node("Reshape", [source, flat], [f"{name}/{role}"], name=f"{name}/{role}")
        for role, source in (("query", core.query), ("key", core.key), ("value", core.value))
    ]
    inputs = [f"{name}/query", f"{name}/key", f"{name}/value"]
    attributes = {"num_heads": core.heads, "scale": core.scale}
    if core.mask is not None:
        # key_padding_mask: int32 [batch, keys], 1 where a key is attended to.
        nodes += [
            _node("Cast", [core.mask], f"{name}/mask_int", to=onnx.TensorProto.INT32),
            _node("Reshape", [f"{name}/mask_int", const("batch_keys", [0, -1])], f"{name}/mask"),
        ]
        inputs += ["", f"{name}/mask"]
        attributes["mask_filter_value"] = core.fill
    attended = f"{name}/attended"
    # ONNX shape inference does not know the contrib op: declared here, the
    # type and width flow on to the nodes after it (int8 quantization needs them).
    graph.value_info.append(
        helper.make_tensor_value_info(attended, onnx.TensorProto.FLOAT, [None, None, width])
    )
    nodes.append(
        helper.make_node(
            "MultiHeadAttention",
            inputs,
            [attended],
            name=f"{name}/MultiHeadAttention",
            domain=MS_DOMAIN,
            **attributes,
        )
    )
    if core.mask is not None:
        # Keras gives a query whose keys are all masked zeros, not the mean.
        if opset >= 18:  # ReduceMax takes its axes as an input from opset 18
            reduce_max = _node(
                "ReduceMax", [core.mask_float, const("mask_axes", [1, 2, 3])], f"{name}/any_key"
            )
        else:
            reduce_max = _node("ReduceMax", [core.mask_float], f"{name}/any_key", axes=[1, 2, 3])
        nodes += [
            reduce_max,
            _node("Reshape", [f"{name}/any_key", const("per_example", [-1, 1, 1])], f"{name}/any"),
            _node("Mul", [attended, f"{name}/any"], f"{name}/attended_or_zero"),
        ]
        attended = f"{name}/attended_or_zero"
    return [
        *nodes,
        _node("Reshape", [attended, split], f"{name}/per_head"),
        helper.make_node(
            "Transpose", [f"{name}/per_head"], [core.output], name=f"{name}/heads", perm=_AS_BHSD
        ),
    ]


def _node(op_type, inputs, output, **attributes):
    """A node named after its one output (int8 exclusion lists match names)."""
    return helper.make_node(op_type, inputs, [output], name=output, **attributes)
