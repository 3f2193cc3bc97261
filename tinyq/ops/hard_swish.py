"""HARD_SWISH, int8: x * relu6(x + 3) / 6 in TFLM's int16 fixed point, any scales.

Two Q15 multipliers are computed here from the input scale on a 'hires' grid
(input scale / 128): one to the output scale, one to the 'reluish' scale where
3.0 is 32768. Both ratios are divided in float32 first, as TFLM does.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.unary_f32 import kernel as f32_kernel, lower_unary_f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.common import io, require_int8


@dataclass(frozen=True)
class HardSwishOptions:
    pass


@dataclass(frozen=True)
class HardSwishParams:
    size: int
    input_zero_point: int
    output_zero_point: int
    reluish_multiplier: int  # Q15
    reluish_exponent: int
    output_multiplier: int  # Q15
    output_exponent: int  # <= 0


# The kernel's saturating left shift is computed with a C int (1 << (exponent - 1)).
MAX_RELUISH_EXPONENT = 31


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if f32.is_float(x):
        return lower_unary_f32(graph, op)
    require_int8(graph, op, x, what="input")
    require_int8(graph, op, y, what="output")
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                          "the model's shapes are inconsistent; re-export it")
    scaling = qmath.hard_swish_scaling(x.quant.s, y.quant.s)
    if scaling is None:
        raise unsupported(graph, op, f"input scale {x.quant.s:g} / 128 over the output or reluish scale "
                                     "overflows float32", "the scales are implausible; re-quantize the model")
    (reluish_m, reluish_e), (output_m, output_e) = scaling
    if output_e > 0:
        raise unsupported(graph, op, f"input scale / 128 / output scale ({x.quant.s:.6g} / 128 / "
                                     f"{y.quant.s:.6g}) is 1 or more",
                          "TFLM rejects such a HARD_SWISH; the output scale must exceed input scale / 128")
    if reluish_e > MAX_RELUISH_EXPONENT:
        raise unsupported(graph, op, f"input scale {x.quant.s:.6g} is too large (above about 2.5e7)",
                          "the scale is implausible; re-quantize the model")
    params = HardSwishParams(size=x.numel, input_zero_point=x.quant.zp, output_zero_point=y.quant.zp,
                             reluish_multiplier=reluish_m, reluish_exponent=reluish_e,
                             output_multiplier=output_m, output_exponent=output_e)
    return Lowered(op=op, kernel="hard_swish", params=params, inputs=(x.index,), outputs=(y.index,))


SPECS = [OpSpec(name="hard_swish", builtin="HARD_SWISH", options=HardSwishOptions, fb_options="HardSwishOptions",
                lower=lower, kernels=(reference_kernel("hard_swish", inplace=ELEMENTWISE), f32_kernel("hard_swish")),
                quant=QuantRule(1), doc="int8, any input and output scales and zero points; float32")]
