"""The float ops tinyq fine-tunes, as torch functions over NHWC tensors with a batch of N.

Each function takes (op, inputs, graph) - inputs are torch tensors for data and for the weights and bias
(already fake-quantized by the caller), None for an omitted input - and returns the op's output before its
fused activation. Shapes, padding and reductions follow TFLite's definitions (tinyq.ops.geometry), so
the float result equals LiteRT's up to float rounding. An op missing here is refused by `check_ops`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Operator, describe_op
from tinyq.ops.geometry import output_size, padding_before

FUSED = {
    "NONE": lambda x: x,
    "RELU": torch.relu,
    "RELU6": lambda x: torch.clamp(x, 0.0, 6.0),
    "RELU_N1_TO_1": lambda x: torch.clamp(x, -1.0, 1.0),
}


def fused(op: Operator):
    name = getattr(op.options, "fused_activation_function", "NONE")
    return FUSED[name]


def _out_shape(graph: Graph, op: Operator, batch: int, index: int = 0) -> tuple[int, ...]:
    shape = graph.tensors[op.outputs[index]].shape
    return (batch,) + tuple(shape[1:]) if shape else shape


def _const(graph: Graph, op: Operator, position: int) -> np.ndarray:
    t = graph.tensors[op.inputs[position]]
    if not t.is_const:
        raise UnsupportedError(f"input {position} is computed at run time; finetune needs it constant",
                               where=describe_op(graph, op))
    return np.asarray(t.data)


def _same_pad(x: torch.Tensor, op: Operator, kh: int, kw: int, value: float = 0.0) -> torch.Tensor:
    """x (NCHW) padded as TFLite pads a window op: SAME puts the odd pixel after."""
    o = op.options
    dh, dw = getattr(o, "dilation_h_factor", 1), getattr(o, "dilation_w_factor", 1)
    pads = []
    for size, k, stride, dil in ((x.shape[3], kw, o.stride_w, dw), (x.shape[2], kh, o.stride_h, dh)):
        out = output_size(o.padding, size, k, stride, dil)
        before = padding_before(stride, dil, size, k, out)
        total = max((out - 1) * stride + (k - 1) * dil + 1 - size, 0)
        pads += [before, total - before] if o.padding == "SAME" else [0, 0]
    return F.pad(x, pads, value=value) if any(pads) else x


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def conv_2d(op, ins, graph):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    groups = x.shape[3] // w.shape[3]
    xp = _same_pad(_nchw(x), op, w.shape[1], w.shape[2])
    o = op.options
    y = F.conv2d(xp, w.permute(0, 3, 1, 2), b, stride=(o.stride_h, o.stride_w),
                 dilation=(o.dilation_h_factor, o.dilation_w_factor), groups=groups)
    return _nhwc(y)


def depthwise_conv_2d(op, ins, graph):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    channels = x.shape[3]
    xp = _same_pad(_nchw(x), op, w.shape[1], w.shape[2])
    o = op.options
    y = F.conv2d(xp, w[0].permute(2, 0, 1).unsqueeze(1), b, stride=(o.stride_h, o.stride_w),
                 dilation=(o.dilation_h_factor, o.dilation_w_factor), groups=channels)
    return _nhwc(y)


def fully_connected(op, ins, graph):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    y = F.linear(x.reshape(-1, w.shape[1]), w, b)
    if op.options is not None and op.options.keep_num_dims:
        return y.reshape(tuple(x.shape[:-1]) + (w.shape[0],))
    return y.reshape(_out_shape(graph, op, x.shape[0])) if graph.tensors[op.outputs[0]].shape[0] == 1 else y


def average_pool_2d(op, ins, graph):
    o = op.options
    x = _nchw(ins[0])
    k = (o.filter_height, o.filter_width)
    total = F.avg_pool2d(_same_pad(x, op, *k), k, stride=(o.stride_h, o.stride_w), divisor_override=1)
    ones = torch.ones_like(x[:1, :1])  # TFLite divides by the pixels inside the input, padding not counted
    count = F.avg_pool2d(_same_pad(ones, op, *k), k, stride=(o.stride_h, o.stride_w), divisor_override=1)
    return _nhwc(total / count)


def max_pool_2d(op, ins, graph):
    o = op.options
    k = (o.filter_height, o.filter_width)
    x = _same_pad(_nchw(ins[0]), op, *k, value=float("-inf"))
    return _nhwc(F.max_pool2d(x, k, stride=(o.stride_h, o.stride_w)))


def reshape(op, ins, graph):
    return ins[0].reshape(_out_shape(graph, op, ins[0].shape[0]))


def softmax(op, ins, graph):
    return torch.softmax(ins[0] * op.options.beta, dim=-1)


def mean(op, ins, graph):
    axes = tuple(int(a) % ins[0].ndim for a in np.atleast_1d(_const(graph, op, 1)))
    keep = bool(op.options.keep_dims) if op.options is not None else False
    return ins[0].mean(dim=axes, keepdim=keep)


def pad(op, ins, graph):
    paddings = _const(graph, op, 1).astype(int)
    flat = [int(v) for pair in paddings[::-1] for v in pair]
    return F.pad(ins[0], flat)


def concatenation(op, ins, graph):
    return torch.cat([t for t in ins if t is not None], dim=op.options.axis % ins[0].ndim)


def leaky_relu(op, ins, graph):
    return F.leaky_relu(ins[0], op.options.alpha)


OPS = {
    "conv_2d": conv_2d,
    "depthwise_conv_2d": depthwise_conv_2d,
    "fully_connected": fully_connected,
    "average_pool_2d": average_pool_2d,
    "max_pool_2d": max_pool_2d,
    "reshape": reshape,
    "squeeze": reshape,
    "softmax": softmax,
    "mean": mean,
    "pad": pad,
    "concatenation": concatenation,
    "add": lambda op, ins, graph: ins[0] + ins[1],
    "sub": lambda op, ins, graph: ins[0] - ins[1],
    "mul": lambda op, ins, graph: ins[0] * ins[1],
    "relu": lambda op, ins, graph: torch.relu(ins[0]),
    "relu6": lambda op, ins, graph: torch.clamp(ins[0], 0.0, 6.0),
    "logistic": lambda op, ins, graph: torch.sigmoid(ins[0]),
    "tanh": lambda op, ins, graph: torch.tanh(ins[0]),
    "leaky_relu": leaky_relu,
}


def check_ops(graph: Graph, where: str) -> None:
    """Refuse, in one line, the first op finetune cannot run or a batch other than 1."""
    for op in graph.operators:
        if op.op not in OPS:
            raise UnsupportedError(f"finetune cannot run op {op.op}", where=f"{where}: {describe_op(graph, op)}",
                                   hint=f"it runs {', '.join(sorted(OPS))}; quantize it with tinyq quantize")
        name = getattr(op.options, "fused_activation_function", "NONE")
        if name not in FUSED:
            raise UnsupportedError(f"fused activation {name} is not supported by finetune",
                                   where=f"{where}: {describe_op(graph, op)}")
    for t in graph.inputs:
        shape = graph.tensors[t].shape
        if not shape or shape[0] != 1:
            raise UnsupportedError(f"input {graph.tensors[t].name} has shape {list(shape)}; finetune needs a batch "
                                   "of 1 in the file", where=where)
