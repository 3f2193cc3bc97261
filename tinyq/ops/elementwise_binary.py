"""ADD, SUB and MUL: int8 or int16 with fused activation, equal shapes or any TFLite broadcast.

All walk the output with one loop nest (tinyq/ops/ndloops.py) in which a
broadcast input has stride 0; only the per-element arithmetic differs, and all of
its rescaling constants are computed here. SUB is ADD's arithmetic with the
rescaled second operand subtracted (TFLM's SubElementwise), so it shares ADD's
parameters and kernel file.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.binary_f32 import kernel as f32_kernel, lower_binary_f32
from tinyq.ops.binary_i32 import kernel as i32_kernel, lower_binary_i32, takes_int32
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.common import (ACTIVATION_SUFFIX, fused_range, io, require_int8_or_int16, require_shifts,
                              require_zero_point_0)
from tinyq.ops.ndloops import MAX_LOOPS, LoopNest, broadcast_loops, broadcast_shape
from tinyq.ops.operands import operand_sources

# TFLM's broadcast walk (BroadcastBinaryOpSimple) handles up to this rank.
MAX_RANK = 6
# TFLM's headroom: (x - zero point) << left_shift before rescaling
ADD_LEFT_SHIFT = {"int8": 20, "int16": 15}


@dataclass(frozen=True)
class AddOptions:
    fused_activation_function: str = "NONE"
    pot_scale_int16: bool = True


@dataclass(frozen=True)
class SubOptions:
    fused_activation_function: str = "NONE"
    pot_scale_int16: bool = True


@dataclass(frozen=True)
class MulOptions:
    fused_activation_function: str = "NONE"


@dataclass(frozen=True)
class AddParams:
    loops: LoopNest
    sources: tuple[int, ...]
    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class MulParams:
    loops: LoopNest
    sources: tuple[int, ...]
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def _operands(graph: Graph, op: Operator):
    (a, b, *_), (y,) = io(graph, op, 2)
    if a is None or b is None:
        raise unsupported(graph, op, "both operands are required", "the file is corrupt")
    dtype = require_int8_or_int16(graph, op, a, b, y)  # per channel: read at the first scale, as TFLM reads it
    shape = broadcast_shape(a.shape, b.shape)
    if shape is None:
        raise unsupported(graph, op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast",
                          "the model's shapes are inconsistent; re-export it")
    if tuple(y.shape) != shape:
        raise unsupported(graph, op, f"output shape {list(y.shape)} is not the broadcast shape {list(shape)}",
                          "the model's shapes are inconsistent; re-export it")
    if len(shape) > MAX_RANK:
        raise unsupported(graph, op, f"rank {len(shape)} is above TFLM's broadcast limit of {MAX_RANK}",
                          "reshape to fewer dimensions")
    if 0 in shape:
        raise unsupported(graph, op, "empty tensors are not supported", "tinyq's kernels need at least one element")
    loops = broadcast_loops(a.shape, b.shape, y.shape)
    assert loops.rank <= MAX_LOOPS
    return a, b, y, loops, dtype


def _lowered(op: Operator, kernel: str, params_cls, a: Tensor, b: Tensor, y: Tensor, **fields) -> Lowered:
    sources, inputs, consts = operand_sources((a, b))
    params = params_cls(sources=sources, **fields)
    return Lowered(op=op, kernel=kernel, params=params, inputs=inputs, outputs=(y.index,), consts=consts)


def lower_add(graph: Graph, op: Operator) -> Lowered:
    """ADD, and SUB (CalculateOpDataSub computes the same rescaling)."""
    if f32.takes_float(graph, op):
        return lower_binary_f32(graph, op, op.op + f32.SUFFIX)
    if takes_int32(graph, op):
        return lower_binary_i32(graph, op)
    a, b, y, loops, dtype = _operands(graph, op)
    left_shift = ADD_LEFT_SHIFT[dtype]
    # SUB too: the golden TFLM divides in double for SUB as for ADD (float32 division, as
    # sub_common.cc reads, differs from it on int16 SUBs)
    rescale = qmath.add_rescale(a.quant.s, b.quant.s, y.quant.s, left_shift)
    if rescale is None:
        raise unsupported(graph, op, "the output scale is too small for the input scales "
                                     f"(TFLM needs 2*max(input scales) < 2^{left_shift} * output scale)",
                          "TFLM rejects such an ADD; re-quantize the model")
    (m1, s1), (m2, s2), (mo, so) = rescale
    act_min, act_max = fused_range(graph, op, op.options.fused_activation_function, y)
    return _lowered(op, op.op + ACTIVATION_SUFFIX[dtype], AddParams, a, b, y, loops=loops,
                    input1_offset=-a.quant.zp, input2_offset=-b.quant.zp, output_offset=y.quant.zp,
                    left_shift=left_shift, input1_multiplier=m1, input1_shift=s1,
                    input2_multiplier=m2, input2_shift=s2, output_multiplier=mo, output_shift=so,
                    act_min=act_min, act_max=act_max)


def lower_mul(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_binary_f32(graph, op, "mul_f32")
    if takes_int32(graph, op):
        return lower_binary_i32(graph, op)
    a, b, y, loops, dtype = _operands(graph, op)
    if dtype == "int16":
        require_zero_point_0(graph, op, a, b, y, why="TFLM's int16 MUL")
    mo, so = qmath.mul_rescale(a.quant.s, b.quant.s, y.quant.s)
    require_shifts(graph, op, [so])
    act_min, act_max = fused_range(graph, op, op.options.fused_activation_function, y)
    return _lowered(op, "mul" + ACTIVATION_SUFFIX[dtype], MulParams, a, b, y, loops=loops,
                    input1_offset=-a.quant.zp, input2_offset=-b.quant.zp, output_offset=y.quant.zp,
                    output_multiplier=mo, output_shift=so, act_min=act_min, act_max=act_max)


_DOC = (f"int8 and int16, float32, int32 (unquantized; ADD ignores the fused activation, as TFLM), fused activation, "
        f"broadcast up to rank {MAX_RANK}, constant operands in flash")

SPECS = [
    OpSpec(name="add", builtin="ADD", options=AddOptions, fb_options="AddOptions", lower=lower_add,
           kernels=(reference_kernel("add", inplace=ELEMENTWISE), reference_kernel("add_s16", inplace=ELEMENTWISE),
                    f32_kernel("add_f32"), i32_kernel("add_i32")),
           quant=QuantRule(2), doc=_DOC),
    OpSpec(name="sub", builtin="SUB", options=SubOptions, fb_options="SubOptions", lower=lower_add,
           kernels=(reference_kernel("sub", inplace=ELEMENTWISE), reference_kernel("sub_s16", inplace=ELEMENTWISE),
                    f32_kernel("sub_f32"), i32_kernel("sub_i32")),
           quant=QuantRule(2), doc=_DOC),
    OpSpec(name="mul", builtin="MUL", options=MulOptions, fb_options="MulOptions", lower=lower_mul,
           kernels=(reference_kernel("mul", inplace=ELEMENTWISE), reference_kernel("mul_s16", inplace=ELEMENTWISE),
                    f32_kernel("mul_f32"), i32_kernel("mul_i32")),
           quant=QuantRule(2), doc=_DOC + " (int16: zero points 0, as TFLM requires)"),
]
