"""PRELU (int8): x for x >= 0, alpha * x below, alpha broadcast against x.

TFLM (prelu_common.cc, reference/prelu.h) rescales x >= 0 by s_in / s_out and
x * alpha by s_in * s_alpha / s_out (both multipliers may exceed 1), adds the
output zero point and clamps to int8; alpha (usually a constant) broadcasts like a
binary op's second operand.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, reference_kernel
from tinyq.ops.binary_f32 import PRELU_MAX_RANK, kernel as f32_kernel, lower_binary_f32
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, broadcast_operands, lowered
from tinyq.ops.common import require_int8, require_shifts
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


def lower(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):  # x >= 0 ? x : x * alpha
        return lower_binary_f32(graph, op, "prelu_f32")
    x, alpha, y, loops = broadcast_operands(graph, op, ("int8",), what="input and alpha")
    require_int8(graph, op, x, alpha, y)
    (m1, s1), (m2, s2) = qmath.prelu_rescale(x.quant.s, alpha.quant.s, y.quant.s)
    require_shifts(graph, op, [s1, s2])
    return lowered(op, "prelu", PreluParams, (x, alpha), y, loops=loops, input_offset=-x.quant.zp,
                   alpha_offset=-alpha.quant.zp, output_offset=y.quant.zp, output_multiplier_1=m1,
                   output_shift_1=s1, output_multiplier_2=m2, output_shift_2=s2)


SPECS = [OpSpec(name="prelu", builtin="PRELU", lower=lower, kernels=(reference_kernel("prelu", inplace=ELEMENTWISE), f32_kernel("prelu_f32")),
                doc=f"int8, alpha broadcast against the input up to rank {MAX_BROADCAST_RANK} (constant alpha in "
                    f"flash); float32 up to rank {PRELU_MAX_RANK}, as TFLM")]
