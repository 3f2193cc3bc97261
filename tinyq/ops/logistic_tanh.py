"""LOGISTIC and TANH, int8: gemmlowp's fixed-point sigmoid and tanh on a Q4.27 input; int16: a
256-entry sigmoid table, interpolated.

The input, minus its zero point, goes to Q4.27 through one multiplier and shift
computed here; values at or beyond the 'input range radius' saturate without
any arithmetic. TFLM writes the result on a fixed output grid (1/256 with zero
point -128 for LOGISTIC, 1/128 with zero point 0 for TANH) whatever the output
tensor says, and so does tinyq (TFLM refuses a LOGISTIC output zero point other
than -128, and so does tinyq).

int16 (TFLM requires zero points 0 and an output scale of 2^-15) takes the input to the
table's grid with one multiplier and right shift (qmath.sigmoid_int16_scaling) and
interpolates qmath.SIGMOID_TABLE_Q16, kept in flash once for every such op.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32
from tinyq.ops.unary_f32 import kernel as f32_kernel, lower_unary_f32
from tinyq.ops.base import (SOFTMAX_OUT, TANH_OUT, ConstArray, Lowered, OpSpec, QuantRule, reference_kernel,
                            unsupported)
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.common import io, require_int8, require_int8_or_int16, require_zero_point_0


@dataclass(frozen=True)
class SigmoidParams:
    size: int
    input_zero_point: int
    input_range_radius: int  # |input - zero point| at or beyond it saturates
    input_multiplier: int  # input scale on the Q4.27 grid
    input_left_shift: int


@dataclass(frozen=True)
class SigmoidS16Params:
    size: int
    input_multiplier: int  # input * multiplier, rounded, >> input_shift: the table's grid
    input_shift: int


@dataclass(frozen=True)
class OutputGrid:
    scale: float
    zero_point: int


OUTPUT_GRIDS = {
    "logistic": OutputGrid(scale=1.0 / 256, zero_point=-128),
    "tanh": OutputGrid(scale=1.0 / 128, zero_point=0),
}

# Largest left shift TFLM's CalculateInputRadius can take (it shifts a 64-bit one).
MAX_LEFT_SHIFT = 62


# output parameters TFLM's int8 Prepare checks: LOGISTIC its zero point (logistic_common.cc), TANH none
CHECKED_ZERO_POINT = {"logistic": True, "tanh": False}


def _check_output(graph: Graph, op: Operator, y: Tensor) -> None:
    """TFLM writes the output on its grid whatever the tensor says, so a file whose tensor says otherwise (a
    converter's int8 PyTorch MLP with TANH at scale 0.0079, zero point 1) runs as it runs in TFLM: the
    same bytes, read by the next op at the tensor's parameters. What TFLM refuses, tinyq refuses."""
    grid = OUTPUT_GRIDS[op.op]
    if CHECKED_ZERO_POINT[op.op] and y.quant.zp != grid.zero_point:
        raise unsupported(graph, op, f"output zero point is {y.quant.zp}; TFLM's int8 {op.op.upper()} requires "
                                     f"{grid.zero_point} (and writes on a 1/256 grid whatever the scale says)",
                          "requantize the model")


# (int8, int16) input intervals past which the output is within half a step of its end: int8 1/256 (LOGISTIC)
# and 1/128 (TANH), int16 2^-15. 256 (1 - sigmoid(8)) = 0.09; 128 (1 - tanh(4)) = 0.09; 32768 (1 - sigmoid(12))
# = 0.2; 32768 (1 - tanh(6.5)) = 0.15
SATURATES_AT = {"logistic": ((-8.0, 8.0), (-12.0, 12.0)), "tanh": ((-4.0, 4.0), (-6.5, 6.5))}

# int16: the power-of-two input scales TFLM multiplies by 3 << shift (shift = 12 + log2(scale))
POT_SHIFTS_S16 = {"logistic": (0,), "tanh": (0, 1)}
MAX_INPUT_SCALE_S16 = (1 << 31) / (3 * 4096)  # scale * 3 * 4096, TFLM's int32 multiplier, must stay below 2^31


def lower_s16(graph: Graph, op: Operator, x: Tensor, y: Tensor) -> Lowered:
    require_zero_point_0(graph, op, x, y, why=f"TFLM's int16 {op.op.upper()}")
    log2, exact = qmath.checked_log2(y.quant.s)
    if not exact or log2 != -15:
        raise unsupported(graph, op, f"int16 output scale {y.quant.s:.8g} is not 2^-15",
                          f"TFLM writes int16 {op.op.upper()} on that grid; requantize the model")
    multiplier, shift = qmath.sigmoid_int16_scaling(x.quant.s, POT_SHIFTS_S16[op.op])
    if multiplier > qmath.INT32_MAX:  # TFLM's static_cast<int32_t> of it is undefined: x86 and Arm builds differ
        raise unsupported(graph, op, f"int16 input scale {x.quant.s:.6g} makes TFLM's input multiplier "
                                     f"{multiplier} overflow int32 (scales up to {MAX_INPUT_SCALE_S16:.0f} fit)",
                          "requantize the input to a smaller scale, or run this op on int8 (tinyq quantize does)")
    params = SigmoidS16Params(size=x.numel, input_multiplier=multiplier, input_shift=shift)
    table = ConstArray("sigmoid_table", "uint16_t", qmath.SIGMOID_TABLE_Q16)
    return Lowered(op=op, kernel=op.op + "_s16", params=params, inputs=(x.index,), outputs=(y.index,),
                   consts=(table,))


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if f32.is_float(x):
        return lower_unary_f32(graph, op)
    if x.dtype == "int16":
        require_int8_or_int16(graph, op, x, y)
        if x.numel != y.numel:
            raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                              "the model's shapes are inconsistent; re-export it")
        return lower_s16(graph, op, x, y)
    require_int8(graph, op, x, what="input")
    require_int8(graph, op, y, what="output")
    _check_output(graph, op, y)
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                          "the model's shapes are inconsistent; re-export it")
    multiplier, left_shift = qmath.sigmoid_input_scaling(x.quant.s)
    if not 0 <= left_shift <= MAX_LEFT_SHIFT:
        raise unsupported(graph, op, f"input scale {x.quant.s:.6g} is outside [2^-28, 2^35)",
                          "TFLM's input radius is undefined there; requantize the input")
    params = SigmoidParams(size=x.numel, input_zero_point=x.quant.zp,
                           input_range_radius=qmath.input_radius(qmath.SIGMOID_INPUT_INTEGER_BITS, left_shift),
                           input_multiplier=multiplier, input_left_shift=left_shift)
    return Lowered(op=op, kernel=op.op, params=params, inputs=(x.index,), outputs=(y.index,))


def int16_input_holds(op: Operator, width: str, inputs: tuple, output) -> bool:
    """Whether TFLM's int16 LOGISTIC/TANH takes every int16 input to the table's grid without wrapping: it
    computes x * multiplier in int32, and past an input scale of about 5.3 (multiplier 2^16 at shift 0: tensors
    of about 1e5 and beyond) the largest inputs wrap to the other sign and answer the opposite saturation."""
    if width != "int16":
        return True
    multiplier, _ = qmath.sigmoid_int16_scaling(inputs[0].s, POT_SHIFTS_S16[op.op])
    return 32768 * multiplier < 2**31


SPECS = [
    OpSpec(name="logistic", builtin="LOGISTIC", lower=lower,
           kernels=(reference_kernel("logistic", inplace=ELEMENTWISE), reference_kernel("logistic_s16", inplace=ELEMENTWISE),
                    f32_kernel("logistic")),
           quant=QuantRule(2, fixed_output=SOFTMAX_OUT, input_saturates=SATURATES_AT["logistic"],
                           holds=int16_input_holds),
           doc="int8, any input scale; output zero point -128 (TFLM requires it), written on the 1/256 grid whatever "
               "the output scale says, as TFLM. int16: zero points 0, output scale 2^-15. tinyq quantize keeps an "
               "int16 one float where TFLM's input rescale would wrap (input scale above about 5.3). "
               "float32 (TFLM's cutoffs, glibc's expf)"),
    OpSpec(name="tanh", builtin="TANH", lower=lower,
           kernels=(reference_kernel("tanh", inplace=ELEMENTWISE), reference_kernel("tanh_s16", inplace=ELEMENTWISE),
                    f32_kernel("tanh")),
           quant=QuantRule(2, fixed_output=TANH_OUT, input_saturates=SATURATES_AT["tanh"],
                           holds=int16_input_holds),
           doc="int8, any input scale; written on the 1/128 grid, zero point 0, whatever the output tensor says, as "
               "TFLM. int16: zero points 0, output scale 2^-15. tinyq quantize keeps an int16 one float where TFLM's "
               "input rescale would wrap (input scale above about 5.3). "
               "float32 (glibc's tanhf)"),
]
