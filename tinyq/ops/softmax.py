"""SOFTMAX: int8 -> int8 (scale 1/256, zero point -128) or int8 -> int16 (1/65536, -32768);
int16 -> int16 (zero points 0, scale 1/32768).

Softmax runs over the last axis; every other axis is a row. Beta and the input
scale fold into one Q5.26 multiplier computed here; the kernel does gemmlowp's
fixed-point exp and reciprocal (templates/reference/kernels/tq_fixedpoint.h).
int16 input reads exp and 1/(1+x) from TFLM's two 513-entry tables (qmath.softmax_int16_luts:
the same for every model, in flash once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import SOFTMAX_OUT, ConstArray, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops import f32
from tinyq.ops.inplace import ROWWISE
from tinyq.ops.softmax_f32 import SOFTMAX_KERNEL, lower_softmax_f32
from tinyq.ops.common import io, require_int8, require_int8_or_int16, require_shifts, require_zero_point_0


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float = 0.0


@dataclass(frozen=True)
class SoftmaxParams:
    outer_size: int
    depth: int
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    output_bits: int  # 8 or 16: which kernel entry point


@dataclass(frozen=True)
class SoftmaxS16Params:
    outer_size: int
    depth: int
    input_multiplier: int  # beta * input scale on the exp table's grid
    input_shift: int


# TFLM sums a row's exps (each below 2^15) in int32
MAX_DEPTH_S16 = 65536


@dataclass(frozen=True)
class OutputContract:
    """What TFLM's Prepare demands of the output: the kernel writes probabilities
    on this fixed grid whatever the tensor says, so TFLM refuses anything else."""

    zero_point: int
    scale: float
    exact: bool  # int8 requires scale == 1/256 exactly; int16 within 0.1 %


OUTPUTS = {
    "int8": OutputContract(zero_point=-128, scale=1.0 / 256, exact=True),
    "int16": OutputContract(zero_point=-32768, scale=1.0 / 65536, exact=False),
}


def _check_output(graph: Graph, op: Operator, y: Tensor) -> int:
    contract = OUTPUTS.get(y.dtype)
    if contract is None:
        raise unsupported(graph, op, f"output is {y.dtype}; int8 input needs an int8 or int16 output",
                          "TFLM's int8 SOFTMAX writes int8 or int16")
    if y.quant is None:  # per channel: TFLM checks its first scale and zero point
        raise unsupported(graph, op, "output needs per-tensor quantization parameters",
                          "scale 1/256, zero point -128 (int8) as the converter writes them")
    scale = np.float32(y.quant.s)
    want = np.float32(contract.scale)
    scale_ok = scale == want if contract.exact else abs(scale - want) <= np.float32(0.001) * want
    if y.quant.zp != contract.zero_point or not scale_ok:
        raise unsupported(graph, op, f"{y.dtype} output must have scale {contract.scale:.8g} and zero point "
                                     f"{contract.zero_point}, has {float(scale):.8g} and {y.quant.zp}",
                          "TFLM rejects other output quantizations for SOFTMAX; requantize the model")
    return 8 * np.dtype(y.dtype).itemsize


def lower_s16(graph: Graph, op: Operator, x: Tensor, y: Tensor) -> Lowered:
    """int16 -> int16: zero points 0, output scale 1/32768 within 0.1 % (SoftmaxPrepare)."""
    require_int8_or_int16(graph, op, x, y)
    require_zero_point_0(graph, op, x, y, why="TFLM's int16 SOFTMAX")
    want = np.float32(1.0 / 32768)
    if not abs(np.float32(y.quant.s) - want) <= np.float32(0.001) * want:
        raise unsupported(graph, op, f"int16 output must have scale 1/32768, has {y.quant.s:.8g}",
                          "TFLM rejects other output quantizations for SOFTMAX; requantize the model")
    if not x.shape or x.shape != y.shape:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} must have the same "
                                     "shape, of rank 1 or more")
    depth = x.shape[-1]
    if depth > MAX_DEPTH_S16:
        raise unsupported(graph, op, f"rows of {depth:,} values: TFLM's int32 sum of exps could overflow",
                          f"at most {MAX_DEPTH_S16:,} values a row")
    multiplier, shift = qmath.softmax_int16_scaling(op.options.beta, x.quant.s)
    require_shifts(graph, op, [shift])
    exp_lut, recip_lut = qmath.softmax_int16_luts()
    params = SoftmaxS16Params(outer_size=x.numel // depth if depth else 0, depth=depth,
                              input_multiplier=multiplier, input_shift=shift)
    return Lowered(op=op, kernel="softmax_s16", params=params, inputs=(x.index,), outputs=(y.index,),
                   consts=(ConstArray("exp_lut", "int16_t", exp_lut), ConstArray("recip_lut", "int16_t", recip_lut)))


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if f32.is_float(x):
        return lower_softmax_f32(graph, op, x, y, op.options.beta)
    if x.dtype == "int16":
        return lower_s16(graph, op, x, y)
    require_int8(graph, op, x, what="input")
    output_bits = _check_output(graph, op, y)
    if not x.shape or x.shape != y.shape:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} must have the same "
                                     "shape, of rank 1 or more")
    opts: SoftmaxOptions = op.options
    scaling = qmath.softmax_scaling(opts.beta, x.quant.s)
    if scaling is None:
        raise unsupported(graph, op, f"beta {opts.beta:.6g} times input scale {x.quant.s:.6g} is at most 2^-26",
                          "TFLM aborts on such a softmax; use a larger beta or input scale")
    multiplier, left_shift, diff_min = scaling
    depth = x.shape[-1]
    params = SoftmaxParams(outer_size=x.numel // depth if depth else 0, depth=depth,
                           input_multiplier=multiplier, input_left_shift=left_shift, diff_min=diff_min,
                           output_bits=output_bits)
    return Lowered(op=op, kernel="softmax", params=params, inputs=(x.index,), outputs=(y.index,))


def int16_rescale_holds(op: Operator, width: str, inputs: tuple, output) -> bool:
    """Whether TFLM's int16 SOFTMAX rescales every input difference without wrapping. It shifts the difference
    (down to -65535) left by the input multiplier's shift before multiplying, in int32: past a shift of 15 (input
    scale x beta of 5 or more, attention scores of about 1e5 and beyond) large differences wrap and come out
    near 0, as if they were the row's maximum (C leaves it undefined; x86 wraps)."""
    if width != "int16":
        return True
    _, shift = qmath.softmax_int16_scaling(op.options.beta, inputs[0].s)
    return (65535 << max(shift, 0)) < 2**31


SPECS = [OpSpec(name="softmax", builtin="SOFTMAX", options=SoftmaxOptions, fb_options="SoftmaxOptions",
                lower=lower, kernels=(reference_kernel("softmax", inplace=ROWWISE),
                                      reference_kernel("softmax_s16", inplace=ROWWISE), SOFTMAX_KERNEL),
                quant=QuantRule(2, fixed_output=SOFTMAX_OUT, holds=int16_rescale_holds),
                doc="int8 -> int8 (1/256, -128) or int16 (1/65536, -32768); int16 -> int16 (1/32768, 0); "
                    "float32; any beta, last axis. tinyq quantize keeps an int16 softmax float where TFLM's input "
                    "rescale would wrap (input scale x beta of 5 or more)")]
