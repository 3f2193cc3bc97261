"""SQUARED_DIFFERENCE: int8 and int16 (TFLM's rescaling) and int32, any TFLite broadcast.

TFLM's int8 path (squared_difference.cc) brings both operands to the scale
2*max(s1, s2) / 2^7, squares their difference and rescales it to the output with a
multiplier that may exceed 1, clamped to int8 (no fused activation). int16 is the same
arithmetic without the 7 bits of headroom (the operands are already 16-bit), zero points 0
as its Prepare requires, clamped to int16. int32 squares the wrapped difference of the
stored values.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.binary_f32 import kernel as f32_kernel, lower_binary_f32
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, C_SUFFIX, broadcast_operands, lowered
from tinyq.ops.common import require_int8, require_int8_or_int16, require_shifts, require_zero_point_0
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest


# PrepareQuantized's left shift: int8's headroom (255^2 * 2^14 fits int32); int16 none (2^15 squared does)
LEFT_SHIFT = {"int8": qmath.SQUARED_DIFFERENCE_LEFT_SHIFT, "int16": 0}


@dataclass(frozen=True)
class SquaredDifferenceParams:
    loops: LoopNest
    sources: tuple[int, ...]
    suffix: str
    input1_offset: int = 0
    input2_offset: int = 0
    output_offset: int = 0
    left_shift: int = 0
    input1_multiplier: int = 0
    input1_shift: int = 0
    input2_multiplier: int = 0
    input2_shift: int = 0
    output_multiplier: int = 0
    output_shift: int = 0


def lower(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_binary_f32(graph, op, "squared_difference_f32")
    a, b, y, loops = broadcast_operands(graph, op, ("int8", "int16", "int32"))
    if y.dtype != a.dtype:
        raise unsupported(graph, op, f"output is {y.dtype}, operands {a.dtype}; TFLM writes the operands' type")
    fields = dict(loops=loops, suffix=C_SUFFIX[a.dtype])
    if a.dtype in LEFT_SHIFT:
        if a.dtype == "int16":
            require_int8_or_int16(graph, op, a, b, y)
            require_zero_point_0(graph, op, a, b, y, why="TFLM's int16 SQUARED_DIFFERENCE")
        else:
            require_int8(graph, op, a, b, y)
        left_shift = LEFT_SHIFT[a.dtype]
        (m1, s1), (m2, s2), (mo, so) = qmath.squared_difference_rescale(a.quant.s, b.quant.s, y.quant.s, left_shift)
        require_shifts(graph, op, [so])
        fields.update(input1_offset=-a.quant.zp, input2_offset=-b.quant.zp, output_offset=y.quant.zp,
                      left_shift=left_shift, input1_multiplier=m1, input1_shift=s1,
                      input2_multiplier=m2, input2_shift=s2, output_multiplier=mo, output_shift=so)
    return lowered(op, "squared_difference", SquaredDifferenceParams, (a, b), y, **fields)


SPECS = [OpSpec(name="squared_difference", builtin="SQUARED_DIFFERENCE", lower=lower,
                kernels=(reference_kernel("squared_difference", inplace=ELEMENTWISE),
                         f32_kernel("squared_difference_f32")), quant=QuantRule(2),
                doc=f"int8 and int16 (zero points 0) with TFLM's rescaling, int32 (wrapping as TFLM's int arithmetic), float32, broadcast up to rank "
                    f"{MAX_BROADCAST_RANK}, constant operands in flash")]
