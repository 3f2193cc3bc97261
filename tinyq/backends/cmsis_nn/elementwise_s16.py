"""int16 add, mul, pooling and softmax as CMSIS-NN's (v7.0.0) s16 kernels, where they reproduce TFLM.

The calls TFLM's CMSIS-NN glue makes for int16 (kernels/cmsis_nn/add.cc, mul.cc, pooling.cc,
softmax.cc). arm_elementwise_add_s16 and arm_elementwise_mul_s16 ignore zero points (TFLM's
glue requires them to be 0; its reference ADD applies them) and walk equal shapes only.
arm_softmax_s16 differs from TFLM's SoftmaxInt16 in three places: it does not clamp the
result to 32767 (a one-value row gives 32768, stored as -32768), it truncates 1/sum's table
index where TFLM saturates it, and it normalises the sum of exps in int32 where TFLM widens
it (sums whose top 18 bits are all ones, from 262,143 on): rows of 2 to 8 values never reach
either (tests/test_int16_cmsis_nn.py checks every sum such rows can have).
"""

from __future__ import annotations

from tinyq.backends.cmsis_nn import rules, too_large, window_limits
from tinyq.backends.cmsis_nn.inplace import by_function
from tinyq.backends.common import broadcast_reason
from tinyq.ops.base import Kernel, Lowered, Target
from tinyq.ops.inplace import ELEMENTWISE, ROWWISE

SOFTMAX_S16_DEPTHS = (2, 8)  # rows arm_softmax_s16 computes as TFLM does


def _offsets_reason(k: Lowered) -> str | None:
    p = k.params
    if p.input1_offset or p.input2_offset or p.output_offset:
        return f"arm_elementwise_{k.kernel[:3]}_s16 ignores zero points, which TFLM's reference kernel applies"
    return None


def _softmax_applies(k: Lowered, target: Target) -> str | None:
    lo, hi = SOFTMAX_S16_DEPTHS
    if not lo <= k.params.depth <= hi:
        return (f"arm_softmax_s16 (v7.0.0) differs from TFLM on some rows of length {k.params.depth} (it "
                f"reproduces rows of {lo} to {hi} values)")
    return None


def _pool_applies(k: Lowered, target: Target) -> str | None:
    return window_limits(k.params) or too_large(k.params.depth)


# arm_elementwise_{add,mul}_s16 read a pair (Helium: 4 lanes) of each input, then store the same
# outputs (Source/BasicMathFunctions): element-wise in place, as their s8 twins.
KERNELS = [
    Kernel(name="add_s16", template="cmsis_nn/add_s16.c.j2",
           applies=lambda k, t: broadcast_reason(k) or _offsets_reason(k),
           function=lambda k, t: "arm_elementwise_add_s16", inplace=ELEMENTWISE, doc="no broadcast, zero points 0"),
    Kernel(name="mul_s16", template="cmsis_nn/mul_s16.c.j2", applies=lambda k, t: broadcast_reason(k),
           function=lambda k, t: "arm_elementwise_mul_s16", inplace=ELEMENTWISE, doc="no broadcast"),
    Kernel(name="average_pool_2d_s16", template="cmsis_nn/average_pool_2d_s16.c.j2", applies=_pool_applies,
           function=lambda k, t: "arm_avgpool_s16", inplace=by_function,
           scratch=lambda k, t: rules.avgpool_scratch_bytes(k.params.depth, t.isa), doc="extents up to 65535"),
    Kernel(name="max_pool_2d_s16", template="cmsis_nn/max_pool_2d_s16.c.j2", applies=_pool_applies,
           function=lambda k, t: "arm_max_pool_s16", inplace=by_function, doc="extents up to 65535"),
    Kernel(name="softmax_s16", template="cmsis_nn/softmax_s16.c.j2", uses=("exp_lut", "recip_lut"),
           # reads a row for its max, then input c just before caching exp c in output c (Source/SoftmaxFunctions)
           applies=_softmax_applies, function=lambda k, t: "arm_softmax_s16", inplace=ROWWISE,
           doc=f"rows of {SOFTMAX_S16_DEPTHS[0]} to {SOFTMAX_S16_DEPTHS[1]} values"),
]
