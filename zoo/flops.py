"""Multiply-adds per example, counted from the model's TensorFlow graph.

Model cards show the cost of one forward pass as multiply-accumulate
operations (MACs, what papers call "FLOPs" for ResNet-50: about 4.1 G at
224x224). The figure is read from the traced inference graph at batch 1,
so it follows the real architecture and input size rather than a number
typed into a registration: every convolution, matrix product and einsum
counts its output elements times its reduction size; the bodies of `while`
loops (Keras' recurrent layers) count once per time step. Elementwise work
(activations, normalization, softmax) is left out, as in the papers.

TensorFlow's own profiler (`tf.compat.v1.profiler`) counts neither `Einsum`
(Keras' attention) nor loop bodies, hence this small walker.

Example:

>>> model = zoo.get_model("resnet50")
>>> round(zoo.flops.count_macs(model) / 1e9, 2)
4.09
"""

from __future__ import annotations

import math

from zoo import inputs

_LOOPS = ("While", "StatelessWhile")


def count_macs(model) -> int | None:
    """Multiply-adds of one example through `model` in inference mode.

    Args:
        model: keras.Model. Its input spec (`zoo.inputs.for_model`) gives the
            example's shape.

    Returns:
        int, or None when a loop's trip count is not known from the graph
        (a figure that is not computed is not shown).
    """
    import tensorflow as tf  # here: importing zoo stays free of TensorFlow

    batch = inputs.for_model(model).random_batch(1)
    signature = tf.nest.map_structure(lambda a: tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)), batch)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(signature).graph
    return _graph_macs(graph)


def _graph_macs(graph) -> int | None:
    total = 0
    for op in _needed_ops(graph):
        if op.type in _LOOPS:
            body = _loop_body_macs(graph, op)
            if body is None:
                return None
            total += body
        else:
            total += _op_macs(op)
    return total


def _needed_ops(graph) -> list:
    """The ops the graph's outputs depend on: Keras' recurrent layers also
    trace one step outside their loop to learn its shapes, which never runs."""
    seen, stack = set(), [t.op for t in graph.outputs]
    while stack:
        op = stack.pop()
        if op.name not in seen:
            seen.add(op.name)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op.name in seen]


def _op_macs(op) -> int:
    kind = op.type
    if kind not in ("Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2", "Einsum"):
        return 0
    outputs = math.prod(op.outputs[0].shape)
    if kind == "Conv2D":  # kernel (h, w, in, out): each output sums h*w*in products
        height, width, channels, _ = op.inputs[1].shape
        return outputs * height * width * channels
    if kind == "DepthwiseConv2dNative":
        height, width, _, _ = op.inputs[1].shape
        return outputs * height * width
    if kind == "MatMul":
        rows, cols = op.inputs[0].shape
        return outputs * (rows if op.get_attr("transpose_a") else cols)
    if kind == "BatchMatMulV2":
        shape = op.inputs[0].shape
        return outputs * (shape[-2] if op.get_attr("adj_x") else shape[-1])
    # Einsum: one product per combination of every index in the equation.
    operands = op.get_attr("equation").decode().split("->")[0].split(",")
    sizes = {}
    for letters, tensor in zip(operands, op.inputs):
        sizes.update(zip(letters, tensor.shape))
    return math.prod(sizes.values())


def _loop_body_macs(graph, op) -> int | None:
    trips = _trip_count(op)
    if trips is None:
        return None
    body = graph._get_function(op.get_attr("body").name)  # the loop body's FuncGraph
    per_step = _graph_macs(body.graph)
    return None if per_step is None else trips * per_step


def _trip_count(op) -> int | None:
    """A `while_v2` loop's `maximum_iterations` (its second input), when static.

    Keras' RNN loop bounds it by the number of time steps, written as a
    reduction over a constant, which `tf.get_static_value` does not fold.
    """
    import tensorflow as tf

    bound = op.inputs[1]
    value = tf.get_static_value(bound)
    if value is None and bound.op.type in ("Max", "Min", "Identity"):
        value = tf.get_static_value(bound.op.inputs[0])
    if value is None or getattr(value, "ndim", 1) != 0 or int(value) < 0:
        return None
    return int(value)
