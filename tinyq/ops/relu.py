"""RELU, RELU6 and LEAKY_RELU on int8 and int16, each exactly as TFLM computes it.

RELU requantizes to the output scale and clamps at the output's zero point.
RELU6 is a clamp to [0, 6] in the *input's* quantization with no requantization:
TFLM ignores the output's scale and zero point, so tinyq does too (converters
give RELU6 equal input and output quantization, where this is exact).
RELU_N1_TO_1 has no TFLM kernel, so it is refused rather than left unverifiable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.unary_f32 import kernel as f32_kernel, lower_unary_f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.common import (ACTIVATION_SUFFIX, INT_RANGES, fused_range, io, require_int8_or_int16,
                              require_shifts, require_zero_point_0)


@dataclass(frozen=True)
class LeakyReluOptions:
    alpha: float = 0.0


@dataclass(frozen=True)
class ReluParams:
    size: int
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class Relu6Params:
    size: int
    lower: int
    upper: int


@dataclass(frozen=True)
class LeakyReluParams:
    size: int
    input_zero_point: int
    output_zero_point: int
    identity_multiplier: int
    identity_shift: int
    alpha_multiplier: int
    alpha_shift: int
    alpha_negative: bool


def _unary(graph: Graph, op: Operator):
    """(input, output, kernel suffix): int8, or int16 (the `_s16` kernels)."""
    (x, *_), (y,) = io(graph, op, 1)
    dtype = require_int8_or_int16(graph, op, x, y)
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                          "the model's shapes are inconsistent; re-export it")
    return x, y, ACTIVATION_SUFFIX[dtype]


def _ratio(graph: Graph, op: Operator, ratio: tuple[int, int] | None, what: str) -> tuple[int, int]:
    """A float32 scale ratio's multiplier, refused where float32 overflows or the kernel cannot shift."""
    if ratio is None:
        raise unsupported(graph, op, f"the {what} overflows float32", "the scales are implausible; re-quantize")
    require_shifts(graph, op, [ratio[1]], what)
    return ratio


def lower_relu(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_unary_f32(graph, op)
    x, y, suffix = _unary(graph, op)
    if suffix:
        require_zero_point_0(graph, op, x, y, why="TFLM's int16 RELU")
    multiplier, shift = _ratio(graph, op, qmath.scale_ratio_rescale(x.quant.s, y.quant.s), "input/output scale ratio")
    act_min, act_max = fused_range(graph, op, "RELU", y)
    params = ReluParams(size=x.numel, input_zero_point=x.quant.zp, output_zero_point=y.quant.zp,
                        multiplier=multiplier, shift=shift, act_min=act_min, act_max=act_max)
    return Lowered(op=op, kernel="relu" + suffix, params=params, inputs=(x.index,), outputs=(y.index,))


def lower_relu6(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_unary_f32(graph, op)
    x, y, suffix = _unary(graph, op)
    upper = qmath.float_to_quantized(6.0, x.quant.s, x.quant.zp, *INT_RANGES[x.dtype])
    if upper is None:
        raise unsupported(graph, op, f"6.0 at input scale {x.quant.s:g} does not fit int32",
                          "TFLM's conversion is undefined there; the input scale is implausible")
    params = Relu6Params(size=x.numel, lower=x.quant.zp, upper=upper)
    return Lowered(op=op, kernel="relu6" + suffix, params=params, inputs=(x.index,), outputs=(y.index,))


def lower_leaky_relu(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):  # val > 0 ? val : val * alpha, alpha as the float32 option
        return lower_unary_f32(graph, op, alpha=float(np.float32(op.options.alpha)))
    x, y, suffix = _unary(graph, op)
    identity_m, identity_s = _ratio(graph, op, qmath.scale_ratio_rescale(x.quant.s, y.quant.s),
                                    "input/output scale ratio")
    alpha_m, alpha_s = _ratio(graph, op, qmath.leaky_alpha_rescale(x.quant.s, op.options.alpha, y.quant.s),
                              "alpha multiplier")
    if alpha_m == qmath.INT32_MIN:
        raise unsupported(graph, op, f"alpha {op.options.alpha} quantizes to a multiplier of -2^31",
                          "TFLM negates it, which overflows")
    params = LeakyReluParams(size=x.numel, input_zero_point=x.quant.zp, output_zero_point=y.quant.zp,
                             identity_multiplier=identity_m, identity_shift=identity_s,
                             alpha_multiplier=abs(alpha_m), alpha_shift=alpha_s, alpha_negative=alpha_m < 0)
    return Lowered(op=op, kernel="leaky_relu" + suffix, params=params, inputs=(x.index,), outputs=(y.index,))


def lower_relu_n1_to_1(graph: Graph, op: Operator) -> Lowered:
    raise unsupported(graph, op, "RELU_N1_TO_1 has no TFLM kernel, so tinyq cannot verify it",
                      "fuse it into the producing op (fused_activation_function=RELU_N1_TO_1)")


SPECS = [
    OpSpec(name="relu", builtin="RELU", lower=lower_relu,
           kernels=(reference_kernel("relu", inplace=ELEMENTWISE), reference_kernel("relu_s16", inplace=ELEMENTWISE),
                    f32_kernel("relu")),
           quant=QuantRule(2, input_saturates=((0.0, np.inf), (0.0, np.inf))),
           doc="int8, int16 (zero points 0); requantizes when input and output scales differ; "
                                   "float32"),
    OpSpec(name="relu6", builtin="RELU6", lower=lower_relu6,
           kernels=(reference_kernel("relu6", inplace=ELEMENTWISE), reference_kernel("relu6_s16", inplace=ELEMENTWISE),
                    f32_kernel("relu6")),
           quant=QuantRule(2, output_as_input=True, input_saturates=((0.0, 6.0), (0.0, 6.0))),
           doc="int8, int16; a clamp in the input's quantization (the output's is ignored, as in TFLM); float32"),
    OpSpec(name="leaky_relu", builtin="LEAKY_RELU", options=LeakyReluOptions, fb_options="LeakyReluOptions",
           lower=lower_leaky_relu,
           kernels=(reference_kernel("leaky_relu", inplace=ELEMENTWISE),
                    reference_kernel("leaky_relu_s16", inplace=ELEMENTWISE), f32_kernel("leaky_relu")),
           quant=QuantRule(1), doc="int8, int16, float32, any alpha (negative too)"),
    OpSpec(name="relu_n1_to_1", builtin="RELU_N1_TO_1", lower=lower_relu_n1_to_1,
           doc="not supported: TFLM has no kernel for it"),
]
