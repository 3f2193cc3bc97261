"""DIV (int8, int32 and float32, fused activation, any TFLite broadcast); FLOOR_DIV and FLOOR_MOD on
float32 (TFLM has no other type for them; tinyq/ops/binary_f32.py).

TFLM's int8 DIV (div.cc, reference/div.h) multiplies the numerator by the
divisor's reciprocal (GetReciprocal, a Newton-Raphson estimate) after normalising
both, then rescales by s1 / (s2 * s_out). It never checks the divisor: a zero one,
and exponents past 31 in its final rounding shift, run through shifts C leaves
undefined; tinyq's kernel reproduces what TFLM's x86-64 build (the golden model)
computes there, with defined arithmetic (templates/reference/kernels/tq_div.c).
int32 DIV is C's truncating division of unquantized operands (TFLM traps on a zero
divisor; tinyq's kernel then writes 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import FLOAT_ISLAND, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.binary_f32 import kernel as f32_kernel, lower_binary_f32, refuse_non_float
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, C_SUFFIX, broadcast_operands, lowered
from tinyq.ops.common import fused_range, require_int8
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest

# The int8 kernel's last rounding shift is headroom (23..31) + reciprocal shift (-1..7) - output
# shift; outside these output shifts it would be negative or pass 62, where even TFLM's x86 result
# is no longer one rule (tinyq refuses such scales; real models are far inside).
OUTPUT_SHIFTS = (-24, 22)

# CalculateActivationRange<int32_t>: TFLM clamps int32 results to these
INT32_ACTIVATIONS = {"NONE": (qmath.INT32_MIN, qmath.INT32_MAX), "RELU": (0, qmath.INT32_MAX), "RELU6": (0, 6),
                     "RELU_N1_TO_1": (-1, 1)}


@dataclass(frozen=True)
class DivOptions:
    fused_activation_function: str = "NONE"


@dataclass(frozen=True)
class DivParams:
    loops: LoopNest
    sources: tuple[int, ...]
    suffix: str
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def _int8_fields(graph: Graph, op: Operator, a, b, y) -> dict:
    require_int8(graph, op, a, b, y)
    multiplier, shift = qmath.div_rescale(a.quant.s, b.quant.s, y.quant.s)
    if not OUTPUT_SHIFTS[0] <= shift <= OUTPUT_SHIFTS[1]:
        raise unsupported(graph, op, f"the scale ratio s1 / (s2 * s_out) is 2^{shift - 1} or so; tinyq reproduces "
                                     f"TFLM's int8 DIV for ratios from 2^{OUTPUT_SHIFTS[0] - 1} to "
                                     f"2^{OUTPUT_SHIFTS[1]}: beyond, its last rounding shift is negative or past 62 "
                                     "bits for some inputs, which C leaves undefined (builds differ)",
                          "the scales are implausible; re-quantize the model")
    act_min, act_max = fused_range(graph, op, op.options.fused_activation_function, y)
    return dict(input1_offset=-a.quant.zp, input2_offset=-b.quant.zp, output_offset=y.quant.zp,
                output_multiplier=multiplier, output_shift=shift, act_min=act_min, act_max=act_max)


def _int32_fields(graph: Graph, op: Operator, a, b, y) -> dict:
    for t in (a, b):
        if t.quant is not None:
            raise unsupported(graph, op, f"int32 operand {t.index} ({t.name}) is quantized; TFLM's int32 DIV "
                                         "takes unquantized operands only")
    activation = op.options.fused_activation_function
    if activation not in INT32_ACTIVATIONS:
        raise unsupported(graph, op, f"fused activation {activation} is not supported",
                          "use NONE, RELU, RELU6 or RELU_N1_TO_1")
    act_min, act_max = INT32_ACTIVATIONS[activation]
    return dict(input1_offset=0, input2_offset=0, output_offset=0, output_multiplier=0, output_shift=0,
                act_min=act_min, act_max=act_max)


def int8_rounding_holds(op: Operator, width: str, inputs: tuple, output) -> bool:
    """Whether TFLM's int8 DIV keeps its last rounding shift within 31 for every numerator but 0 at these
    parameters. Past 31 C leaves the shift undefined and the golden x86 build shifts by the exponent modulo
    32: a numerator of -1 over a divisor step of 128 or more gives a saturated quotient where the answer is
    near 0 (a divisor spanning [1, 166]: 8% of all int8 pairs). The shift is headroom (31 for -1, 30 for 1)
    + the reciprocal's bits over unit (bit length of |divisor - zero point|, less one) - the output shift."""
    if width != "int8":
        return True  # TFLM has no int16 DIV: such a layer is never int16
    a, b = inputs[:2]
    _, shift = qmath.div_rescale(a.s, b.s, output.s)
    widest_divisor = max(127 - b.zp, b.zp + 128)
    headroom = 31 if a.zp > -128 else 30  # -1 - the zero point is a code when the zero point is above -128
    return headroom + widest_divisor.bit_length() - 1 - shift <= 31


def lower(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_binary_f32(graph, op, "div_f32")
    a, b, y, loops = broadcast_operands(graph, op, ("int8", "int32"))
    if y.dtype != a.dtype:
        raise unsupported(graph, op, f"output is {y.dtype}, operands {a.dtype}; TFLM writes the operands' type")
    fields = (_int8_fields if a.dtype == "int8" else _int32_fields)(graph, op, a, b, y)
    return lowered(op, "div", DivParams, (a, b), y, loops=loops, suffix=C_SUFFIX[a.dtype], **fields)


def lower_floor(graph: Graph, op: Operator) -> Lowered:
    refuse_non_float(graph, op)
    return lower_binary_f32(graph, op, op.op + f32.SUFFIX)


SPECS = [
    OpSpec(name="div", builtin="DIV", options=DivOptions, fb_options="DivOptions", lower=lower,
           kernels=(reference_kernel("div", inplace=ELEMENTWISE), f32_kernel("div_f32")),
           quant=QuantRule(1, holds=int8_rounding_holds),
           doc=f"int8 (TFLM's reciprocal arithmetic, its zero-divisor result too), int32 (unquantized; a zero "
               f"divisor gives 0 where TFLM traps), float32, fused activation, broadcast up to rank "
               f"{MAX_BROADCAST_RANK}, constant operands in flash. tinyq quantize keeps a DIV float where TFLM's "
               f"int8 rounding shift would pass 31 (a divisor spanning more than a few times its least value)"),
    OpSpec(name="floor_div", builtin="FLOOR_DIV", lower=lower_floor, kernels=(f32_kernel("floor_div_f32"),),
           quant=FLOAT_ISLAND,
           doc="float32 only, as TFLM (floor of the quotient in double); a zero divisor fails invoke as TFLM's "
               f"Eval does; broadcast up to rank {MAX_BROADCAST_RANK}"),
    OpSpec(name="floor_mod", builtin="FLOOR_MOD", lower=lower_floor, kernels=(f32_kernel("floor_mod_f32"),),
           quant=FLOAT_ISLAND,
           doc=f"float32 only, as TFLM (fmodf moved into the divisor's sign); broadcast up to rank "
               f"{MAX_BROADCAST_RANK}"),
]
