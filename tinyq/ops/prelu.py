"""PRELU (int8, and int16 with int8 alpha): x for x >= 0, alpha * x below, alpha broadcast against x.

TFLM (prelu_common.cc, reference/prelu.h) rescales x >= 0 by s_in / s_out and
x * alpha by s_in * s_alpha / s_out (both multipliers may exceed 1), adds the
output zero point and clamps to the output type; alpha (usually a constant) broadcasts
like a binary op's second operand. An int16 input takes an int8 alpha (PreluPrepare
requires it) and, unlike TFLM's other 16x8 kernels, any zero points: |x - zp| * |alpha - zp|
stays below 2^24, inside int32.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.binary_f32 import PRELU_MAX_RANK, kernel as f32_kernel, lower_binary_f32
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, broadcast_operands, loop_nest, lowered
from tinyq.ops.common import io, require_int8, require_int8_or_int16, require_shifts
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest


@dataclass(frozen=True)
class PreluParams:
    loops: LoopNest
    sources: tuple[int, ...]
    input_offset: int
    alpha_offset: int
    output_offset: int
    output_multiplier_1: int
    output_shift_1: int
    output_multiplier_2: int
    output_shift_2: int
    suffix: str = "s8"  # C entry point tq_prelu_<suffix>: s8, or s16 (int16 input and output, int8 alpha)


def lower(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):  # x >= 0 ? x : x * alpha
        return lower_binary_f32(graph, op, "prelu_f32")
    (x, alpha, *_), (y,) = io(graph, op, 2)
    if x.dtype == "int16" or y.dtype == "int16":
        return _lower_s16(graph, op, x, alpha, y)
    x, alpha, y, loops = broadcast_operands(graph, op, ("int8",), what="input and alpha")
    require_int8(graph, op, x, alpha, y)
    return _lowered(graph, op, x, alpha, y, loops, "s8")


def _lower_s16(graph: Graph, op: Operator, x, alpha, y) -> Lowered:
    require_int8_or_int16(graph, op, x, y)
    if alpha.dtype != "int8":
        raise unsupported(graph, op, f"alpha {alpha.index} ({alpha.name}) is {alpha.dtype}; TFLM's int16 PRELU "
                                     "takes an int8 alpha", "quantize alpha to int8")
    require_int8(graph, op, alpha, what="alpha")
    return _lowered(graph, op, x, alpha, y, loop_nest(graph, op, x, alpha, y), "s16")


def _lowered(graph: Graph, op: Operator, x, alpha, y, loops, suffix: str) -> Lowered:
    (m1, s1), (m2, s2) = qmath.prelu_rescale(x.quant.s, alpha.quant.s, y.quant.s)
    require_shifts(graph, op, [s1, s2])
    return lowered(op, "prelu", PreluParams, (x, alpha), y, loops=loops, input_offset=-x.quant.zp,
                   alpha_offset=-alpha.quant.zp, output_offset=y.quant.zp, output_multiplier_1=m1,
                   output_shift_1=s1, output_multiplier_2=m2, output_shift_2=s2, suffix=suffix)


SPECS = [OpSpec(name="prelu", builtin="PRELU", lower=lower, kernels=(reference_kernel("prelu", inplace=ELEMENTWISE), f32_kernel("prelu_f32")),
                quant=QuantRule(1, int8_inputs=(1,)),  # alpha: int8 with its own parameters, as TFLite's quantizer
                doc=f"int8, and int16 input and output with an int8 alpha (any zero points, as TFLM), alpha "
                    f"broadcast against the input up to rank {MAX_BROADCAST_RANK} (constant alpha in flash); float32 up to rank {PRELU_MAX_RANK}, as TFLM")]
