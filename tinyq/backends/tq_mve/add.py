"""add as tq_mve_add_s8: TFLM's arithmetic on 4 int32 lanes."""

from __future__ import annotations

from tinyq.backends.common import broadcast_reason
from tinyq.backends.tq_mve import isa_reason
from tinyq.ops.base import Kernel, Lowered, Target
from tinyq.ops.inplace import ELEMENTWISE


def add_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_add_s8 does not run this add, or None when it does."""
    p = k.params
    if isa_reason(target) or broadcast_reason(k):
        return isa_reason(target) or broadcast_reason(k)
    if max(p.input1_shift, p.input2_shift, p.output_shift) > 0:
        return "a rescale with a left shift"
    return None


# loads 4 lanes of each input, then stores the same 4 output bytes (tq_mve_add.c)
KERNELS = [Kernel(name="add", template="tq_mve/add.c.j2", applies=add_reason, function=lambda k, t: "tq_mve_add_s8",
                  inplace=ELEMENTWISE, doc="Helium targets; no broadcast, no left-shift rescale")]
