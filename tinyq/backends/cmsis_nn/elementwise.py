"""add and mul as arm_elementwise_{add,mul}_s8: equally shaped operands only."""

from __future__ import annotations

from tinyq.backends.common import broadcast_reason
from tinyq.ops.base import Kernel
from tinyq.ops.inplace import ELEMENTWISE

# v7 arm_elementwise_{add,mul}_s8 load a block of 4 (Helium: 4 lanes) of each input, then
# store the same 4 output bytes (Source/BasicMathFunctions): element-wise in place.
KERNELS = [
    Kernel(name="add", template="cmsis_nn/add.c.j2", applies=lambda k, t: broadcast_reason(k),
           function=lambda k, t: "arm_elementwise_add_s8", inplace=ELEMENTWISE, doc="no broadcast"),
    Kernel(name="mul", template="cmsis_nn/mul.c.j2", applies=lambda k, t: broadcast_reason(k),
           function=lambda k, t: "arm_elementwise_mul_s8", inplace=ELEMENTWISE, doc="no broadcast"),
]
