"""REDUCE_MAX and REDUCE_MIN on int8, REDUCE_ALL on bool: any axes, keep_dims or not.

TFLM runs them through ReduceGeneric (kernels/reduce_common.cc): the output starts at
the reduction's identity and each input element folds into its output. MAX and MIN
compare quantized values, so TFLM requires the output to keep the input's scale and
zero point. The loop nests are MEAN's (tinyq/ops/mean.py): outer over the kept
dimensions, inner over the reduced ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_const
from tinyq.ops.mean import MAX_RANK, ReducerOptions, _resolve_axes
from tinyq.ops.ndloops import LoopNest, reduce_loops
from tinyq.ops import f32
from tinyq.ops.reduce_f32 import KERNELS as F32_KERNELS, lower_reduce_f32

DTYPE = {"reduce_max": "int8", "reduce_min": "int8", "reduce_all": "bool"}


@dataclass(frozen=True)
class ReduceParams:
    outer: LoopNest
    inner: LoopNest


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, axis_t, *_), (y,) = io(graph, op, 2)
    if f32.is_float(x) and op.op != "reduce_all":
        return lower_reduce_f32(graph, op)
    name, dtype = op.op.upper(), DTYPE[op.op]
    for t, role in ((x, "input"), (y, "output")):
        if t.dtype != dtype:
            raise unsupported(graph, op, f"{name} {role} is {t.dtype}; only {dtype} is supported",
                              "quantize the model to int8 first (tinyq quantize)" if dtype == "int8" else None)
    if dtype == "int8":
        if x.quant is None or y.quant is None:
            raise unsupported(graph, op, f"{name} input and output need quantization parameters")
        # per channel: TFLM compares (and tinyq reads) the first scale and zero point
        if np.float32(x.quant.s) != np.float32(y.quant.s) or x.quant.zp != y.quant.zp:
            raise unsupported(graph, op, f"output scale/zero point ({y.quant.s:g}, {y.quant.zp}) differ from "
                                         f"the input's ({x.quant.s:g}, {x.quant.zp}); TFLM requires them equal")
    require_const(graph, op, axis_t, "axis")
    if axis_t.dtype != "int32":
        raise unsupported(graph, op, f"axis tensor is {axis_t.dtype}; TFLM requires int32")
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} is above TFLM's limit of {MAX_RANK}")
    axes = _resolve_axes(graph, op, np.asarray(axis_t.data).reshape(-1), rank)
    kept = [d for i, d in enumerate(x.shape) if i not in axes]
    if y.numel != int(np.prod(kept, dtype=np.int64)):
        raise unsupported(graph, op, f"output {list(y.shape)} does not match input {list(x.shape)} "
                                     f"reduced over axes {list(axes)}")
    outer, inner = reduce_loops(x.shape, axes)
    return Lowered(op=op, kernel=op.op, params=ReduceParams(outer=outer, inner=inner), inputs=(x.index,),
                   outputs=(y.index,))


_DOC = ("int8 (output scale and zero point equal to the input's, as TFLM requires), float32, any axes, keep_dims "
        "or not")

SPECS = [
    OpSpec(name="reduce_max", builtin="REDUCE_MAX", options=ReducerOptions, fb_options="ReducerOptions",
           lower=lower, kernels=(reference_kernel("reduce_max"), F32_KERNELS["reduce_max"]),
           quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)), doc=_DOC),
    OpSpec(name="reduce_min", builtin="REDUCE_MIN", options=ReducerOptions, fb_options="ReducerOptions",
           lower=lower, kernels=(reference_kernel("reduce_min"), F32_KERNELS["reduce_min"]),
           quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)), doc=_DOC),
    OpSpec(name="reduce_all", builtin="REDUCE_ALL", options=ReducerOptions, fb_options="ReducerOptions",
           lower=lower, kernels=(reference_kernel("reduce_all"),),
           doc="bool (logical AND), any axes, keep_dims or not"),
]
