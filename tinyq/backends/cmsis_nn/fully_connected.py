"""fully_connected as arm_fully_connected_s8 (one multiplier) or its per-channel twin."""

from __future__ import annotations

from tinyq.backends.cmsis_nn import rules, too_large
from tinyq.backends.cmsis_nn.inplace import by_function
from tinyq.backends.common import per_tensor_requant, shift32
from tinyq.ops.base import ConstArray, Kernel, Lowered, Target


def _derived(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    arrays = () if per_tensor_requant(k) else (shift32(k),)
    if rules.fully_connected_sums_needed(target.isa):
        # arm_vector_sum_s8's result is the lowering's accumulator start (qmath.accumulator_start)
        arrays += (ConstArray("kernel_sum", "int32_t", k.const("acc_init")),)
    return arrays


def _uses(k: Lowered, target: Target) -> tuple[str, ...]:
    return ("filter", "bias") if per_tensor_requant(k) else ("filter", "bias", "multiplier")


KERNELS = [Kernel(
    # the per-tensor call inlines its multiplier and shift; the per-channel one reads the arrays
    name="fully_connected", template="cmsis_nn/fully_connected.c.j2", uses=_uses,
    derived=_derived,
    applies=lambda k, t: too_large(k.params.accum_depth, k.params.output_depth), inplace=by_function,
    function=lambda k, t: ("arm_fully_connected_s8" if per_tensor_requant(k)
                           else "arm_fully_connected_per_channel_s8"),
    doc="depths up to 65535")]
