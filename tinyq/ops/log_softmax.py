"""LOG_SOFTMAX, int8 -> int8 on the fixed output grid 16/256 with zero point 127.

Rows run along the last axis. Like SOFTMAX (tinyq/ops/softmax.py), the difference to the
row maximum goes to Q5.26 through one multiplier computed here (beta is 1), exp() of it is
summed in Q12.19; then gemmlowp's log(x) for x >= 1 gives the log-sum in Q5.26, and each
output is (difference - log-sum) rounded onto 1/16 steps, plus 127. Differences below a
threshold (TFLM's diff_min, tightened per row by the log-sum brought back to the input
scale through the reverse multiplier computed here) give -128 directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_int8
from tinyq.ops import f32
from tinyq.ops.inplace import ROWWISE
from tinyq.ops.softmax_f32 import LOG_SOFTMAX_KERNEL, lower_softmax_f32

OUTPUT_SCALE, OUTPUT_ZERO_POINT = qmath.LOG_SOFTMAX_OUT


@dataclass(frozen=True)
class LogSoftmaxOptions:
    pass


@dataclass(frozen=True)
class LogSoftmaxParams:
    outer_size: int
    depth: int
    input_multiplier: int
    input_left_shift: int
    reverse_scaling_divisor: int
    reverse_scaling_right_shift: int
    diff_min: int


def _check_output(graph: Graph, op: Operator, y: Tensor) -> None:
    # TFLM compares the float32 scale for equality
    if np.float32(y.quant.s) != np.float32(OUTPUT_SCALE) or y.quant.zp != OUTPUT_ZERO_POINT:
        raise unsupported(graph, op, f"output must have scale {OUTPUT_SCALE:g} (16/256) and zero point "
                                     f"{OUTPUT_ZERO_POINT}, has {float(np.float32(y.quant.s)):.8g} and {y.quant.zp}",
                          "TFLM rejects other output quantizations for LOG_SOFTMAX; requantize the model")


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if f32.is_float(x):
        return lower_softmax_f32(graph, op, x, y)
    require_int8(graph, op, x, what="input")
    require_int8(graph, op, y, what="output")
    _check_output(graph, op, y)
    if not x.shape or tuple(x.shape) != tuple(y.shape):
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} must have the same "
                                     "shape, of rank 1 or more")
    scaling = qmath.log_softmax_scaling(x.quant.s)
    if scaling is None:
        raise unsupported(graph, op, f"input scale {x.quant.s:.6g} is at most 2^-26",
                          "TFLM aborts on such a LOG_SOFTMAX (its input multiplier must exceed 1)")
    multiplier, left_shift, reverse_divisor, reverse_right_shift, diff_min = scaling
    depth = x.shape[-1]
    params = LogSoftmaxParams(outer_size=x.numel // depth, depth=depth, input_multiplier=multiplier,
                              input_left_shift=left_shift, reverse_scaling_divisor=reverse_divisor,
                              reverse_scaling_right_shift=reverse_right_shift, diff_min=diff_min)
    return Lowered(op=op, kernel="log_softmax", params=params, inputs=(x.index,), outputs=(y.index,))


SPECS = [OpSpec(name="log_softmax", builtin="LOG_SOFTMAX", options=LogSoftmaxOptions, fb_options="LogSoftmaxOptions",
                lower=lower, kernels=(reference_kernel("log_softmax", inplace=ROWWISE), LOG_SOFTMAX_KERNEL),
                quant=QuantRule(2, fixed_output=qmath.LOG_SOFTMAX_OUT),
                doc="int8 -> int8 (16/256, 127), any input scale above 2^-26; float32; last axis")]
