"""MEAN and SUM on int8 and int16: any axes (negative, repeated), keep_dims or not.

TFLM's micro kernel runs every int8 and int16 MEAN/SUM through QuantizedMeanOrSum (its
4-D axes-(1,2) special case is float only): an int32 sum per output, then one
rescale whose multiplier, for MEAN, has 1/count folded in (qmath.mean_rescale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import ACTIVATION_SUFFIX, io, require_const, require_int8_or_int16, require_shifts
from tinyq.ops.ndloops import LoopNest, reduce_loops
from tinyq.ops import f32
from tinyq.ops.reduce_f32 import KERNELS as F32_KERNELS, lower_reduce_f32

MAX_RANK = 6


@dataclass(frozen=True)
class ReducerOptions:
    keep_dims: bool = False


@dataclass(frozen=True)
class MeanParams:
    outer: LoopNest
    inner: LoopNest
    zero_point_sum: int
    multiplier: int
    shift: int
    output_zero_point: int


def _resolve_axes(graph: Graph, op: Operator, axis_values, rank: int) -> tuple[int, ...]:
    """TFLM's ResolveAxis: negative axes wrap, repeats count once."""
    axes: list[int] = []
    for a in axis_values:
        a = int(a)
        resolved = a + rank if a < 0 else a
        if not 0 <= resolved < rank:
            raise unsupported(graph, op, f"axis {a} is out of range for rank {rank}",
                              "axes count from 0 (or from -rank)")
        if resolved not in axes:
            axes.append(resolved)
    return tuple(axes)


def _lower(graph: Graph, op: Operator, compute_sum: bool) -> Lowered:
    (x, axis_t, *_), (y,) = io(graph, op, 2)
    dtype = require_int8_or_int16(graph, op, x, y)
    require_const(graph, op, axis_t, "axis")
    if axis_t.dtype != "int32":
        raise unsupported(graph, op, f"axis tensor is {axis_t.dtype}; TFLM requires int32", "re-export the model")
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} is above TFLM's limit of {MAX_RANK}", "reshape to fewer dimensions")
    if x.numel == 0:
        raise unsupported(graph, op, "empty tensors are not supported", "tinyq's kernels need at least one element")
    axes = _resolve_axes(graph, op, np.asarray(axis_t.data).reshape(-1), rank)
    kept = [d for i, d in enumerate(x.shape) if i not in axes]
    if y.numel != int(np.prod(kept, dtype=np.int64)):
        raise unsupported(graph, op, f"output {list(y.shape)} does not match input {list(x.shape)} "
                                     f"reduced over axes {list(axes)}")
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    outer, inner = reduce_loops(x.shape, axes)
    multiplier, shift = qmath.mean_rescale(x.quant.s, y.quant.s, count, compute_sum)
    require_shifts(graph, op, [shift])
    params = MeanParams(outer=outer, inner=inner, zero_point_sum=qmath.wrap_int32(x.quant.zp * count),
                        multiplier=multiplier, shift=shift, output_zero_point=y.quant.zp)
    return Lowered(op=op, kernel="mean" + ACTIVATION_SUFFIX[dtype], params=params, inputs=(x.index,), outputs=(y.index,))


def lower_mean(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_reduce_f32(graph, op)
    return _lower(graph, op, compute_sum=False)


def lower_sum(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_reduce_f32(graph, op)
    return _lower(graph, op, compute_sum=True)


MEAN = reference_kernel("mean")  # SUM runs the MEAN kernel without its division
MEAN_S16 = reference_kernel("mean_s16")

SPECS = [
    OpSpec(name="mean", builtin="MEAN", options=ReducerOptions, fb_options="ReducerOptions", lower=lower_mean,
           kernels=(MEAN, MEAN_S16, F32_KERNELS["mean"]), quant=QuantRule(2, activation_inputs=(0,)),
           doc="int8 and int16, float32 (TFLM's summation order), any axes, keep_dims or not"),
    OpSpec(name="sum", builtin="SUM", options=ReducerOptions, fb_options="ReducerOptions", lower=lower_sum,
           kernels=(MEAN, MEAN_S16, F32_KERNELS["sum"]), quant=QuantRule(2, activation_inputs=(0,)),
           doc="int8 and int16 (the MEAN kernel without the division), float32, any axes, keep_dims or not"),
]
