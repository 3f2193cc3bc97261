"""pad and padv2 as arm_pad_s8, as TFLM's CMSIS-NN glue runs every int8 PAD: the last four
dimensions as n, h, w, c."""

from __future__ import annotations

from tinyq.ops.base import Kernel


def _applies(k, target) -> str | None:
    p = k.params
    if p.out_dims[0] != 1:
        return "5-D with a padded or longer first dimension; arm_pad_s8 pads four (TFLM's glue drops the fifth)"
    return None


KERNELS = [Kernel(name="pad", template="cmsis_nn/pad.c.j2", applies=_applies, function=lambda k, t: "arm_pad_s8",
                  doc="up to 4-D (5-D when the first dimension is 1 and not padded)")]
