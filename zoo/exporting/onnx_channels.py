"""Convolution chains widened to whole blocks of channels, for onnxruntime's fast kernels.

onnxruntime's fastest CPU convolutions (MLAS' NCHWc kernels, chosen by its
`NchwcTransformer` at `ORT_ENABLE_ALL`, the default) hold channels in blocks
of 16 on AVX-512 (8 on AVX2). It widens a convolution's filters to a whole
block itself, but runs a convolution in that layout only when its *input*
has a whole number of blocks; any other falls back to im2col and a GEMM, and
the tensors between are reordered back and forth. The keyword spotters of
Tang & Lin (`kws_res8`, `kws_res15`: 45 feature maps) hit exactly that: in
onnxruntime they were slower than the SavedModel at batch 32.

`pad_conv_channels` widens such chains in the ONNX graph, exactly:

- a convolution whose filter count is not a multiple of `BLOCK` gets zero
  filters (and zero biases) up to the next multiple;
- the channel-wise ops after it carry the extra channels: `Relu`, `Clip`,
  pooling, `BatchNormalization`, and `Add` / `Mul` / `Sub` of two such
  tensors or of a per-channel constant (padded with zeros);
- a convolution reading a widened tensor gets zero weights for the extra
  channels, so they add exactly nothing to its sums;
- where a widened tensor reaches anything else (a `Transpose`, a `Reshape`,
  a graph output), a `Slice` takes the original channels back, under the
  original tensor name, so the rest of the graph is untouched.

The extra channels hold finite values only (zeros, or a padded constant's
zeros plus a broadcast scalar), which the zero weights cancel: the graph
computes the same function. Nothing changes unless at least one convolution
ends up reading a widened tensor (a lone odd convolution is left alone).

Written by hand: neither tf2onnx nor onnxruntime pads channels.

Example:

>>> model = onnx.load("model.onnx")
>>> pad_conv_channels(model)      # convolutions widened (kws_res8: conv0 to conv6)
7
>>> onnx.save(model, "model.onnx")
"""

from __future__ import annotations

import collections

import numpy as np
import onnx
from onnx import helper, numpy_helper

from zoo.exporting.onnx_graph import Constants, remove_dead_nodes, set_nodes, subgraph_inputs

# Channels per block of MLAS' NCHWc kernels: 16 on AVX-512, 8 on AVX2 and
# NEON; a multiple of 16 is a whole number of blocks on all of them.
BLOCK = 16
# Ops that act on each channel on its own (axis 1 of an NCHW tensor) and map
# finite values to finite values: widened channels stay harmless through them.
_POOLS = ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")
_UNARY = ("Relu", "Clip", "Identity", *_POOLS)
_BINARY = ("Add", "Mul", "Sub")
_WIDENED = "/widened"  # suffix of a widened tensor's name


def pad_conv_channels(model: onnx.ModelProto, *, block: int = BLOCK) -> int:
    """Widens the graph's convolution chains to whole blocks of channels (in place).

    Args:
        model: onnx.ModelProto. A float graph in NCHW layout (as tf2onnx writes).
        block: int. Channels per block; widened counts are its multiples.

    Returns:
        int. How many convolutions were widened (0: the graph is unchanged).

    Example:

    >>> pad_conv_channels(onnx.load("kws_res8_as_tf2onnx_wrote_it.onnx"))
    7
    """
    graph = model.graph
    plan = _Plan(graph, block)
    for index, node in enumerate(graph.node):
        plan.visit(index, node)
    if not plan.widened_inputs:  # no convolution would read a widened tensor
        return 0
    rewritten = [plan.rewritten.get(i, node) for i, node in enumerate(graph.node)]
    rewritten = _affine_as_batch_norms(rewritten, plan, graph)
    # Whoever still reads a widened tensor under its original name (a node
    # left as it was, a graph output) gets the original channels back.
    read = {o.name for o in graph.output}
    for node in rewritten:
        read.update(node.input)
        read.update(subgraph_inputs(node))
    nodes = []
    for node in rewritten:
        nodes.append(node)
        for name in node.output:
            original = name.removesuffix(_WIDENED)
            if name.endswith(_WIDENED) and original in plan.padded and original in read:
                nodes.append(plan.slice_back(original))
    graph.initializer.extend(plan.initializers)
    set_nodes(graph, nodes)
    remove_dead_nodes(graph)
    # Shapes recorded for tensors that are now only widened would be stale.
    written = {name for node in graph.node for name in node.output}
    kept = [v for v in graph.value_info if v.name in written]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    return len(plan.widened_outputs)


def is_widened(onnx_path) -> bool:
    """True when the ONNX file has convolution chains widened by `pad_conv_channels`.

    Args:
        onnx_path: str or Path. An `.onnx` file.

    Example:

    >>> is_widened("out/kws/model.onnx")
    True
    """
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return any(name.endswith(_WIDENED) for node in graph.node for name in node.output)


class _Plan:
    """Which tensors get widened and how each node changes, decided in one
    pass in topological order (a node's inputs are decided before it)."""

    def __init__(self, graph, block):
        self.block = block
        self.consts = Constants(graph)
        # Tensor name -> (channels, widened channels, rank).
        self.padded: dict[str, tuple[int, int, int]] = {}
        self.rewritten: dict[int, onnx.NodeProto] = {}  # by index in the graph
        self.initializers: list[onnx.TensorProto] = []
        self.widened_outputs: list[str] = []  # convolutions given extra filters
        self.widened_inputs: list[str] = []  # convolutions reading extra channels
        self.arrays: dict[str, np.ndarray] = {}  # the constants made here, by name

    def visit(self, index: int, node) -> None:
        """Decides whether `node` (the graph's `index`-th) joins a widened chain, and how."""
        self._index = index
        if node.domain not in ("", "ai.onnx") or len(node.output) != 1:
            return
        if node.op_type == "Conv":
            self._visit_conv(node)
        elif node.op_type in _UNARY and node.input and node.input[0] in self.padded:
            if all(not name or name in self.consts for name in node.input[1:]):
                self._rewrite(node, {0: _padded_name(node.input[0])}, self.padded[node.input[0]])
        elif node.op_type == "BatchNormalization" and node.input[0] in self.padded:
            self._visit_batch_norm(node)
        elif node.op_type in _BINARY and any(name in self.padded for name in node.input):
            self._visit_binary(node)

    def _visit_conv(self, node) -> None:
        weights = self.consts.get(node.input[1]) if len(node.input) > 1 else None
        bias = self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        # 2-D convolutions only: NCHWc kernels are 2-D, and a grouped
        # convolution's channels cannot be widened independently.
        if weights is None or weights.ndim != 4 or group != 1:
            return
        if len(node.input) > 2 and node.input[2] and bias is None:
            return
        reads_padded = node.input[0] in self.padded
        filters = weights.shape[0]
        wide = -(-filters // self.block) * self.block
        if not reads_padded and wide == filters:
            return
        name = node.name or node.output[0]
        if reads_padded:
            channels, in_wide, _ = self.padded[node.input[0]]
            weights = _padded(weights, 1, in_wide)
            self.widened_inputs.append(name)
        weights = _padded(weights, 0, wide)
        inputs = {0: _padded_name(node.input[0])} if reads_padded else {}
        inputs[1] = self.constant(weights, f"{name}/weights_widened")
        if bias is not None:
            inputs[2] = self.constant(_padded(bias, 0, wide), f"{name}/bias_widened")
        if wide != filters:
            self.widened_outputs.append(name)
            self._rewrite(node, inputs, (filters, wide, 4))
        else:  # reads widened channels, writes the original count
            self._rewrite(node, inputs, None)

    def _visit_batch_norm(self, node) -> None:
        channels, wide, rank = self.padded[node.input[0]]
        params = [self.consts.get(name) for name in node.input[1:5]]
        if any(p is None or p.shape != (channels,) for p in params):
            return
        name = node.name or node.output[0]
        inputs = {0: _padded_name(node.input[0])}
        # scale 0, offset 0, mean 0, variance 1: the extra channels come out 0.
        for index, (param, fill) in enumerate(zip(params, (0, 0, 0, 1)), start=1):
            widened = _padded(param, 0, wide, fill=fill)
            inputs[index] = self.constant(widened, f"{name}/input{index}_widened")
        self._rewrite(node, inputs, (channels, wide, rank))

    def _visit_binary(self, node) -> None:
        shapes = {self.padded[name] for name in node.input if name in self.padded}
        if len(shapes) != 1:  # two widened tensors of different counts
            return
        ((channels, wide, rank),) = shapes
        name = node.name or node.output[0]
        inputs = {}
        for index, value in enumerate(node.input):
            if value in self.padded:
                inputs[index] = _padded_name(value)
                continue
            constant = self.consts.get(value)
            if constant is None or constant.ndim > rank:  # a tensor of its own width
                return
            axis = constant.ndim - rank + 1  # axis 1 of the tensor, broadcast from the right
            if axis >= 0 and constant.shape[axis] == channels:
                widened = _padded(constant, axis, wide)
                inputs[index] = self.constant(widened, f"{name}/input{index}_widened")
            elif axis >= 0 and constant.shape[axis] != 1:
                return
        self._rewrite(node, inputs, (channels, wide, rank))

    def _rewrite(self, node, inputs: dict, output) -> None:
        copy = onnx.NodeProto.FromString(node.SerializeToString())
        for index, value in inputs.items():
            copy.input[index] = value
        if output is not None:
            self.padded[node.output[0]] = output
            copy.output[0] = _padded_name(node.output[0])
        self.rewritten[self._index] = copy

    def constant(self, array, name: str) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        self.arrays[name] = array
        return name

    def channel_vector(self, node, op_type: str):
        """`(widened input, per-channel values)` when `node` is `op_type` of a
        widened tensor and a constant holding one value per channel, else None."""
        if node.op_type != op_type or not node.output[0].endswith(_WIDENED):
            return None
        widened = [name for name in node.input if name.endswith(_WIDENED)]
        constants = [self.arrays.get(name) for name in node.input if name in self.arrays]
        if len(widened) != 1 or len(constants) != 1:
            return None
        channels, wide, rank = self.padded[widened[0].removesuffix(_WIDENED)]
        (values,) = constants
        if rank != 4 or values.ndim < 3 or values.size != wide or values.shape[-3] != wide:
            return None
        return widened[0], values.reshape(wide)

    def slice_back(self, name: str):
        """A `Slice` writing `name` (the original channels) from its widened tensor."""
        channels = self.padded[name][0]
        starts = self.constant(np.array([0], np.int64), f"{name}/channels_start")
        ends = self.constant(np.array([channels], np.int64), f"{name}/channels_end")
        axes = self.constant(np.array([1], np.int64), f"{name}/channels_axis")
        return helper.make_node(
            "Slice", [_padded_name(name), starts, ends, axes], [name], name=f"{name}/channels"
        )


def _affine_as_batch_norms(nodes, plan, graph) -> list:
    """Each `Mul` then `Add` by per-channel constants on a widened tensor (a
    Keras `BatchNormalization` after an activation, as tf2onnx writes it) as
    one `BatchNormalization` (mean 0, variance 1, epsilon 0: `x * scale + B`).

    onnxruntime keeps a `BatchNormalization` in the NCHWc layout (a per-channel
    1x1 convolution with bias), but not an `Add` of a constant: each pair
    otherwise converts the tensor out of the layout and back (the shipped
    kws_res8, 6 pairs: 1.44x faster than unwidened at batch 32 without this,
    1.58x with it).
    """
    reads = collections.Counter(name for node in nodes for name in node.input)
    reads.update(o.name for o in graph.output)
    after = {}  # a Mul's output -> the Add that reads it
    for node in nodes:
        for name in node.input:
            after.setdefault(name, node)
    fused, dropped = {}, set()
    for node in nodes:
        scale = plan.channel_vector(node, "Mul")
        if scale is None or reads[node.output[0]] != 1:
            continue
        add = after.get(node.output[0])
        shift = plan.channel_vector(add, "Add") if add is not None else None
        if shift is None:
            continue
        (x, scale), (_, shift) = scale, shift
        name = add.name or add.output[0]
        constants = [
            plan.constant(value, f"{name}/batch_norm_{part}")
            for part, value in (
                ("scale", scale),
                ("offset", shift),
                ("mean", np.zeros_like(scale)),
                ("variance", np.ones_like(scale)),
            )
        ]
        fused[id(add)] = helper.make_node(
            "BatchNormalization", [x, *constants], [add.output[0]], name=name, epsilon=0.0
        )
        dropped.add(id(node))
    return [fused.get(id(n), n) for n in nodes if id(n) not in dropped]


def _padded_name(name: str) -> str:
    return name + _WIDENED


def _padded(array, axis: int, size: int, *, fill=0):
    """`array` grown along `axis` to `size` with `fill`."""
    widths = [(0, 0)] * array.ndim
    widths[axis] = (0, size - array.shape[axis])
    return np.pad(array, widths, constant_values=fill).astype(array.dtype)
