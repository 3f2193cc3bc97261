"""16x8 conv_2d_s16, depthwise_conv_2d_s16 and fully_connected_s16 as CMSIS-NN's s16 kernels.

The calls TFLM's CMSIS-NN glue makes (kernels/cmsis_nn/conv.cc, depthwise_conv.cc,
fully_connected.cc): arm_convolve_wrapper_s16 (one kernel, arm_convolve_s16), the choice
arm_depthwise_conv_wrapper_s16 makes (its fast kernel or arm_depthwise_conv_s16), and
arm_fully_connected_s16, with the conditions under which each reproduces TFLM's reference
arithmetic (rules_s16.py).
"""

from __future__ import annotations

import numpy as np

from tinyq.backends.cmsis_nn import rules_s16, too_large, window_limits
from tinyq.backends.cmsis_nn.inplace import by_function
from tinyq.backends.common import per_tensor_requant, shift32
from tinyq.ops.base import Kernel, Lowered, Target


def _rows(k: Lowered) -> np.ndarray:
    """Each output channel's weights, one row each."""
    p = k.params
    w = k.const("filter")
    if k.kernel == "depthwise_conv_2d_s16":
        return w.reshape(-1, p.out_d).T
    return w.reshape(p.out_d if hasattr(p, "out_d") else p.output_depth, -1)


def _bounds(k: Lowered, int32_columns: int | None | bool) -> str | None:
    """The accumulator conditions of rules_s16 (int32_columns False: the kernel sums in int64 alone)."""
    if not getattr(k.params, "acc64", True):  # depthwise: always int64
        return None  # int32 bias: the same wrapping int32 sum and requantization as TFLM
    rows = _rows(k)
    return ((rules_s16.int32_sum_reason(rows, int32_columns) if int32_columns is not False else None)
            or rules_s16.requantize_reason(rows, k.const("bias"), k.const("multiplier"), k.const("shift")))


def _conv_applies(k: Lowered, target: Target) -> str | None:
    p = k.params
    if p.filter_d != p.in_d:
        return "arm_convolve_s16 has no grouped convolution"
    return window_limits(p) or too_large(p.in_d, p.out_d) or _bounds(k, None)


def _depthwise_fast(k: Lowered, target: Target) -> bool:
    p = k.params
    return target.isa != "scalar" and rules_s16.depthwise_fast(p.depth_multiplier, p.dilation_h, p.dilation_w,
                                                                p.filter_h, p.filter_w)


def _depthwise_applies(k: Lowered, target: Target) -> str | None:
    p = k.params
    # the generic kernel keeps window origins in int16_t
    return (window_limits(p) or too_large(p.out_d) or
            (f"an extent of {max(p.in_h, p.in_w)} exceeds the 32767 arm_depthwise_conv_s16 holds in int16_t"
             if max(p.in_h, p.in_w, p.out_h * p.stride_h, p.out_w * p.stride_w) > 32767 else None) or
            _bounds(k, False))


def _fc_applies(k: Lowered, target: Target) -> str | None:
    p = k.params
    if not per_tensor_requant(k):
        return "arm_fully_connected_s16 takes one multiplier (v7.0.0 has no per-channel s16 kernel)"
    if not p.acc64 or (p.has_bias and k.const("bias").dtype != np.int64):
        return "arm_fully_connected_s16 takes an int64 bias (TFLM's glue reads an int32 one as int64)"
    if p.input_offset or p.output_offset or p.filter_offset:
        return "arm_fully_connected_s16 ignores zero points, which TFLM's reference kernel applies here"
    return too_large(p.accum_depth, p.output_depth) or _bounds(k, rules_s16.MAX_COL_COUNT)


KERNELS = [
    Kernel(name="conv_2d_s16", template="cmsis_nn/conv_2d_s16.c.j2", uses=("filter", "multiplier", "bias"),
           derived=lambda k, t: (shift32(k),), applies=_conv_applies,
           function=lambda k, t: "arm_convolve_wrapper_s16",
           scratch=lambda k, t: rules_s16.conv_scratch_bytes(k.params.in_d, k.params.filter_h, k.params.filter_w,
                                                             t.isa),
           inplace=by_function, doc="no groups; weights whose int32 partial sums cannot overflow"),
    Kernel(name="depthwise_conv_2d_s16", template="cmsis_nn/depthwise_conv_2d_s16.c.j2",
           uses=("filter", "multiplier", "bias"), derived=lambda k, t: (shift32(k),), applies=_depthwise_applies,
           function=lambda k, t: "arm_depthwise_conv_fast_s16" if _depthwise_fast(k, t) else "arm_depthwise_conv_s16",
           scratch=lambda k, t: rules_s16.depthwise_scratch_bytes(_depthwise_fast(k, t), k.params.in_d,
                                                                  k.params.filter_h, k.params.filter_w, t.isa),
           inplace=by_function, doc="the wrapper's kernel choice made offline; extents up to 32767"),
    Kernel(name="fully_connected_s16", template="cmsis_nn/fully_connected_s16.c.j2", uses=("filter", "bias"),
           applies=_fc_applies, function=lambda k, t: "arm_fully_connected_s16",
           doc="per-tensor weights, int64 bias, zero points 0"),
]
