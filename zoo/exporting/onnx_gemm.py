"""Dense layers as `MatMul` + `Add`, so onnxruntime's dynamic int8 quantizes them.

tf2onnx writes the attention projections of keras-hub's transformer layers
(`EinsumDense`) as `Gemm` nodes. onnxruntime's dynamic quantization
(`onnxruntime.quantization.quantize_dynamic`) has no integer `Gemm`: its
registry covers `MatMul`, `Conv`, `LSTM`, `Attention`, `Gather`, so those
projections stayed float32 in the int8 file. Written out again as `MatMul`
(weights as a constant) and `Add` (the bias), they become `MatMulInteger`,
which onnxruntime fuses with the bias into `DynamicQuantizeMatMul` /
`MatMulIntegerToFloat` at load time.

Written by hand because onnxruntime offers no Gemm-to-MatMul pass; only the
plain form is rewritten (`alpha = 1`, `transA = 0`, constant weights, a
constant bias with `beta = 1` or none), any other `Gemm` is left as it is.

Example:

>>> model = onnx.load("model.onnx")
>>> gemms_as_matmuls(model)      # number of Gemm nodes rewritten
16
"""

from __future__ import annotations

import onnx
from onnx import helper, numpy_helper


def gemms_as_matmuls(model: onnx.ModelProto) -> int:
    """Replaces each plain `Gemm` of `model` by `MatMul` + `Add` (in place).

    Args:
        model: onnx.ModelProto. A float graph.

    Returns:
        int. How many `Gemm` nodes were rewritten (0: the graph is unchanged).
    """
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    nodes, rewritten = [], 0
    for node in graph.node:
        replacement = _rewrite(node, initializers, graph)
        if replacement is None:
            nodes.append(node)
        else:
            nodes.extend(replacement)
            rewritten += 1
    if rewritten:
        del graph.node[:]
        graph.node.extend(nodes)
    return rewritten


def _rewrite(node, initializers, graph):
    """`[MatMul, Add]` (or `[MatMul]` without a bias) for a plain `Gemm`, else None."""
    if node.op_type != "Gemm" or node.domain not in ("", "ai.onnx"):
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("alpha", 1.0) != 1.0 or attrs.get("transA", 0) != 0:
        return None
    weights = initializers.get(node.input[1])
    bias_name = node.input[2] if len(node.input) > 2 else ""
    if weights is None or (bias_name and bias_name not in initializers):
        return None
    if bias_name and attrs.get("beta", 1.0) != 1.0:
        return None
    if attrs.get("transB", 0):
        # A new constant: the transposed weights may be shared by another node.
        matrix = numpy_helper.to_array(weights).T.copy()
        weights = numpy_helper.from_array(matrix, f"{node.input[1]}__transposed")
        graph.initializer.append(weights)
        initializers[weights.name] = weights
    product = f"{node.output[0]}__matmul" if bias_name else node.output[0]
    matmul = helper.make_node(
        "MatMul", [node.input[0], weights.name], [product], name=f"{node.name}__matmul"
    )
    if not bias_name:
        return [matmul]
    add = helper.make_node("Add", [product, bias_name], [node.output[0]], name=f"{node.name}__bias")
    return [matmul, add]
