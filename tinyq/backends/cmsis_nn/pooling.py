"""average_pool_2d and max_pool_2d as arm_avgpool_s8 / arm_max_pool_s8."""

from __future__ import annotations

from tinyq.backends.cmsis_nn import rules, too_large, window_limits
from tinyq.backends.cmsis_nn.inplace import by_function
from tinyq.ops.base import Kernel


def _applies(k, target) -> str | None:
    return window_limits(k.params) or too_large(k.params.depth)


KERNELS = [
    Kernel(name="average_pool_2d", template="cmsis_nn/average_pool_2d.c.j2", applies=_applies,
           function=lambda k, t: "arm_avgpool_s8", inplace=by_function,
           scratch=lambda k, t: rules.avgpool_scratch_bytes(k.params.depth, t.isa), doc="extents up to 65535"),
    Kernel(name="max_pool_2d", template="cmsis_nn/max_pool_2d.c.j2", applies=_applies,
           function=lambda k, t: "arm_max_pool_s8", inplace=by_function, doc="extents up to 65535"),
]
