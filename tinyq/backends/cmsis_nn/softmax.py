"""softmax as arm_softmax_s8 (int8 out) or arm_softmax_s8_s16 (int16 out)."""

from __future__ import annotations

from tinyq.ops.base import Kernel
from tinyq.ops.inplace import ROWWISE


def _applies(k, target) -> str | None:
    return None if k.params.output_bits in (8, 16) else f"softmax to {k.params.output_bits}-bit output"


# arm_softmax_s8 reads a row twice, then loads and stores the same indices (Source/SoftmaxFunctions)
KERNELS = [Kernel(name="softmax", template="cmsis_nn/softmax.c.j2", applies=_applies,
                  function=lambda k, t: "arm_softmax_s8_s16" if k.params.output_bits == 16 else "arm_softmax_s8",
                  inplace=ROWWISE, doc="int8 or int16 output")]
