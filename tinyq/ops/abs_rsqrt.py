"""ABS and RSQRT, int8 and int16: TFLM's elementwise.cc arithmetic.

Both compute each element from that element alone, so their whole int8 Eval runs here,
offline, into the shared lookup kernel's table (tinyq/ops/lut.py). int16 (zero points 0, as
TFLM's Prepare requires) would need a 64 KB table: the `_s16` kernels compute it at run
time from parameters computed here. The pinned TFLM build takes int16 RSQRT although its
source's type check reads int8 only (measured: tests/test_abs_rsqrt_s16.py).

ABS: |x - zp_in| plus the output zero point when the scales are equal as float32, else
rescaled by QuantizeMultiplier(s_in / s_out) first (the ratio divided in float32). An int16
input without quantization parameters takes TFLM's plain path instead (EvalImpl with
std::abs, whatever the output's parameters): |x| stored back in int16, so -32768 stays -32768.

RSQRT: 1/sqrt(x - zp_in) by GetInvSqrtQuantizedMultiplierExp, applied to 1 with 20 bits of
headroom, then the multiplier 1 / (sqrt(s_in) * s_out) (qmath.rsqrt_rescale) with 20 bits shifted back out; an
input at the zero point gives 127. TFLM's Invoke fails on an input below the zero point
("Rsqrt is only defined for positive values"); tinyq cannot fail there, and writes what
TFLM's arithmetic gives without that check (GetInvSqrtQuantizedMultiplierExp treats every
value up to 1 as 1): the output of x = zp_in + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.unary_f32 import kernel as f32_kernel, lower_unary_f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_int8_or_int16, require_zero_point_0
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.lut import LUT, lut_lowered, unary_int8

RSQRT_HEADROOM = 20  # kShift in RsqrtEvalQuantized
MAX_DIFFERENCE = 255  # the largest |x - zero point| of int8 values
MAX_DIFFERENCE_S16 = 32768  # |-32768| with zero point 0


@dataclass(frozen=True)
class AbsOptions:
    pass


@dataclass(frozen=True)
class AbsRsqrtS16Params:
    size: int
    rescale: bool  # ABS: False when the scales are equal as float32 (TFLM's needs_rescale); RSQRT: True
    multiplier: int
    shift: int  # RSQRT: QuantizeMultiplier's shift less the 20 bits of headroom
    wraps: bool = False  # ABS of an unquantized input: |-32768| wraps to -32768 (else it saturates to 32767)


def _fits_left_shift(largest: int, shift: int) -> bool:
    """x * 2^shift stays in int32 for |x| <= largest (TFLM multiplies before the high half)."""
    return shift <= 0 or largest << shift <= qmath.INT32_MAX


def abs_table(graph: Graph, op: Operator, in_q, out_q) -> np.ndarray:
    value = np.abs(qmath.INT8_VALUES - in_q.zp)
    rescale = qmath.abs_rescale(in_q.s, out_q.s)
    if rescale is None:
        return qmath.lut_order(np.clip(value + out_q.zp, qmath.INT8_MIN, qmath.INT8_MAX))
    multiplier, shift = rescale
    if not _fits_left_shift(MAX_DIFFERENCE, shift):
        raise unsupported(graph, op, f"input scale / output scale ({in_q.s:.6g} / {out_q.s:.6g}) is 2^{shift - 1} "
                                     "or more: TFLM's int32 rescaling overflows",
                          "the scales are implausible; re-quantize the model")
    out = qmath.multiply_by_quantized_multiplier(value, multiplier, shift) + out_q.zp
    return qmath.lut_order(np.clip(out, qmath.INT8_MIN, qmath.INT8_MAX))


def _rsqrt_of(difference: int) -> int:
    """1/sqrt(difference) scaled by 2^20 (RsqrtEvalQuantized's `data`)."""
    multiplier, shift = qmath.inv_sqrt_quantized_multiplier_exp(difference, -1)
    return int(qmath.multiply_by_quantized_multiplier(1, multiplier, shift + RSQRT_HEADROOM))


def _rsqrt_multiplier(graph: Graph, op: Operator, in_q, out_q) -> tuple[int, int]:
    """1 / (sqrt(input scale) * output scale) as TFLM's multiplier, its shift less RSQRT_HEADROOM."""
    rescale = qmath.rsqrt_rescale(in_q.s, out_q.s)
    if rescale is None:
        raise unsupported(graph, op, f"1 / (sqrt(input scale) * output scale) is not finite ({in_q.s:.6g}, "
                                     f"{out_q.s:.6g})", "the scales are implausible; re-quantize the model")
    multiplier, shift = rescale
    return multiplier, shift - RSQRT_HEADROOM


def rsqrt_table(graph: Graph, op: Operator, in_q, out_q) -> np.ndarray:
    multiplier, out_shift = _rsqrt_multiplier(graph, op, in_q, out_q)
    differences = qmath.INT8_VALUES - in_q.zp
    data = np.array([_rsqrt_of(int(d)) for d in differences], dtype=np.int64)
    if out_shift < -31 or not _fits_left_shift(int(data.max()), out_shift):
        raise unsupported(graph, op, f"1 / (sqrt(input scale) * output scale) = 1 / (sqrt({in_q.s:.6g}) * "
                                     f"{out_q.s:.6g}) is outside [2^-12, 2^30]: TFLM's shifts are undefined there",
                          "the scales are implausible; re-quantize the model")
    out = qmath.multiply_by_quantized_multiplier(data, multiplier, out_shift) + out_q.zp
    out = np.where(differences == 0, qmath.INT8_MAX, np.clip(out, qmath.INT8_MIN, qmath.INT8_MAX))
    return qmath.lut_order(out)


def _takes_int16(graph: Graph, op: Operator):
    """(input, output) of an int16 ABS or RSQRT after TFLM's Prepare checks, or None for int8."""
    (x, *_), (y,) = io(graph, op, 1)
    if x.dtype != "int16" and y.dtype != "int16":
        return None
    require_int8_or_int16(graph, op, x, y)
    require_zero_point_0(graph, op, x, y, why=f"TFLM's int16 {op.op.upper()}")
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size")
    return x, y


def _plain_int16_abs(graph: Graph, op: Operator):
    """(input, output) of an ABS TFLM runs as plain integers (an int16 input without quantization), or None."""
    (x, *_), (y,) = io(graph, op, 1)
    if x.dtype != "int16" or x.quant is not None:
        return None
    if y.dtype != "int16":
        raise unsupported(graph, op, f"output {y.index} ({y.name}) is {y.dtype}; TFLM's ABS writes its input's type",
                          "give the output the input's type")
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size")
    return x, y


def _s16_lowered(op: Operator, x, y, kernel: str, rescale: bool, multiplier: int, shift: int,
                 wraps: bool = False) -> Lowered:
    params = AbsRsqrtS16Params(size=x.numel, rescale=rescale, multiplier=multiplier, shift=shift, wraps=wraps)
    return Lowered(op=op, kernel=kernel, params=params, inputs=(x.index,), outputs=(y.index,))


def abs_s16_rescale(graph: Graph, op: Operator, in_q, out_q) -> tuple[int, int] | None:
    rescale = qmath.abs_rescale(in_q.s, out_q.s)
    if rescale is not None and not _fits_left_shift(MAX_DIFFERENCE_S16, rescale[1]):
        raise unsupported(graph, op, f"input scale / output scale ({in_q.s:.6g} / {out_q.s:.6g}) is "
                                     f"2^{rescale[1] - 1} or more: TFLM's int32 rescaling overflows on int16",
                          "the scales are implausible; re-quantize the model")
    return rescale


def rsqrt_s16_rescale(graph: Graph, op: Operator, in_q, out_q) -> tuple[int, int]:
    multiplier, out_shift = _rsqrt_multiplier(graph, op, in_q, out_q)
    # every difference up to 1 gives the largest `data` (1/sqrt(1) * 2^20)
    if out_shift < -31 or not _fits_left_shift(_rsqrt_of(1), out_shift):
        raise unsupported(graph, op, f"1 / (sqrt(input scale) * output scale) = 1 / (sqrt({in_q.s:.6g}) * "
                                     f"{out_q.s:.6g}) is outside [2^-12, 2^30]: TFLM's shifts are undefined there",
                          "the scales are implausible; re-quantize the model")
    return multiplier, out_shift


def lower_abs(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_unary_f32(graph, op)
    plain = _plain_int16_abs(graph, op)
    if plain is not None:  # the output's parameters, if any, are not read
        return _s16_lowered(op, *plain, "abs_s16", False, 0, 0, wraps=True)
    int16 = _takes_int16(graph, op)
    if int16 is not None:
        x, y = int16
        rescale = abs_s16_rescale(graph, op, x.quant, y.quant)
        return _s16_lowered(op, x, y, "abs_s16", rescale is not None, *(rescale or (0, 0)))
    x, y = unary_int8(graph, op)
    return lut_lowered(op, x, y, abs_table(graph, op, x.quant, y.quant))


def lower_rsqrt(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):  # 1.f / std::sqrt(f)
        return lower_unary_f32(graph, op)
    int16 = _takes_int16(graph, op)
    if int16 is not None:
        x, y = int16
        return _s16_lowered(op, x, y, "rsqrt_s16", True, *rsqrt_s16_rescale(graph, op, x.quant, y.quant))
    x, y = unary_int8(graph, op)
    return lut_lowered(op, x, y, rsqrt_table(graph, op, x.quant, y.quant))


SPECS = [
    OpSpec(name="abs", builtin="ABS", options=AbsOptions, fb_options="AbsOptions", lower=lower_abs,
           kernels=(LUT, reference_kernel("abs_s16", inplace=ELEMENTWISE), f32_kernel("abs")), quant=QuantRule(2),
           doc="int8, any scales and zero points (a 256-entry table in flash); int16 (zero points 0), or int16 without "
               "quantization (the integer absolute value, -32768 wraps to itself as in TFLM); float32"),
    OpSpec(name="rsqrt", builtin="RSQRT", lower=lower_rsqrt,
           kernels=(LUT, reference_kernel("rsqrt_s16", inplace=ELEMENTWISE), f32_kernel("rsqrt")), quant=QuantRule(2),
           doc="int8, any scales and zero points (a 256-entry table in flash); int16 (zero points 0); inputs below "
               "the input zero point, where TFLM's Invoke fails, give the output of zero point + 1; float32 "
               "(1 / sqrt, correctly rounded)"),
]
