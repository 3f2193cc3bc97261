"""ARG_MAX and ARG_MIN on int8: the index of the largest (smallest) value along one axis.

TFLM (kernels/arg_min_max.cc) takes an int32 axis, writes int32 indices only, and
keeps the first index among equal values (a later value must compare strictly
greater, or less). The quantization does not matter: int8 order is real order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_const


@dataclass(frozen=True)
class ArgMaxOptions:
    output_type: int = 0  # TensorType number; TFLM writes the output tensor's type and reads only that


@dataclass(frozen=True)
class ArgMinOptions:
    output_type: int = 0


@dataclass(frozen=True)
class ArgMinMaxParams:
    outer: int  # product of the dimensions before the axis
    axis_size: int
    inner: int  # product of the dimensions after it


def _lower(graph: Graph, op: Operator) -> Lowered:
    (x, axis_t, *_), (y,) = io(graph, op, 2)
    name = op.op.upper()
    if x.dtype not in ("int8", "float32"):
        raise unsupported(graph, op, f"{name} input is {x.dtype}; only int8 and float32 are supported",
                          "quantize the model to int8 first (tinyq quantize)")
    if y.dtype != "int32":
        raise unsupported(graph, op, f"{name} output is {y.dtype}; TFLM writes int32 indices only",
                          "convert with output_type=tf.int32")
    require_const(graph, op, axis_t, "axis")
    if axis_t.dtype != "int32":
        raise unsupported(graph, op, f"axis tensor is {axis_t.dtype}; TFLM requires int32")
    if axis_t.numel < 1:
        raise unsupported(graph, op, "the axis tensor is empty", "the file is corrupt")
    rank = len(x.shape)
    axis = int(np.asarray(axis_t.data).reshape(-1)[0])  # TFLM reads the first value only
    if not -rank <= axis < rank:
        raise unsupported(graph, op, f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    kept = x.shape[:axis] + x.shape[axis + 1:]
    if y.numel != int(np.prod(kept, dtype=np.int64)):
        raise unsupported(graph, op, f"output {list(y.shape)} does not match input {list(x.shape)} "
                                     f"reduced over axis {axis}")
    params = ArgMinMaxParams(outer=int(np.prod(x.shape[:axis], dtype=np.int64)), axis_size=x.shape[axis],
                             inner=int(np.prod(x.shape[axis + 1:], dtype=np.int64)))
    kernel = op.op + (f32.SUFFIX if f32.is_float(x) else "")  # float32: GreaterFn / LessFn on the floats
    return Lowered(op=op, kernel=kernel, params=params, inputs=(x.index,), outputs=(y.index,))


_QUANT = QuantRule(2, activation_inputs=(0,))
_DOC = ("int8 or float32 input, int32 output, constant int32 axis (negative too); the first index among ties "
        "(a float NaN never wins unless first)")

SPECS = [
    OpSpec(name="arg_max", builtin="ARG_MAX", options=ArgMaxOptions, fb_options="ArgMaxOptions", lower=_lower,
           kernels=(reference_kernel("arg_max"), reference_kernel("arg_max_f32")), quant=_QUANT, doc=_DOC),
    OpSpec(name="arg_min", builtin="ARG_MIN", options=ArgMinOptions, fb_options="ArgMinOptions", lower=_lower,
           kernels=(reference_kernel("arg_min"), reference_kernel("arg_min_f32")), quant=_QUANT, doc=_DOC),
]
