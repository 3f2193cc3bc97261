"""depthwise_conv_2d as tq_mve_depthwise_s8: 16 channels a vector, multiplier 1."""

from __future__ import annotations

from tinyq.backends.tq_mve import isa_reason
from tinyq.backends.tq_mve.packing import pack_depthwise, requant_columns
from tinyq.ops.base import ConstArray, Kernel, Lowered, Target
from tinyq.ops.inplace import CHANNEL_WINDOW

DW_MAX_TAPS = 64  # TQ_MVE_DW_MAX_TAPS


def depthwise_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_depthwise_s8 does not run this depthwise convolution, or None when it does."""
    p = k.params
    if isa_reason(target):
        return isa_reason(target)
    if p.depth_multiplier != 1:
        return "depth multiplier above 1"
    if p.filter_h * p.filter_w > DW_MAX_TAPS:
        return f"more than {DW_MAX_TAPS} taps"
    return None


def depthwise_consts(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    p = k.params
    taps = k.const("filter").reshape(p.filter_h * p.filter_w, p.in_d)
    columns = requant_columns(k)
    return (ConstArray("mve_packed", "int32_t", pack_depthwise(taps, columns)),)


KERNELS = [Kernel(name="depthwise_conv_2d", template="tq_mve/depthwise_conv_2d.c.j2", uses=(),
                  derived=depthwise_consts, applies=depthwise_reason, function=lambda k, t: "tq_mve_depthwise_s8",
                  # per pixel, 16 channels of the window read, then those 16 outputs stored (tq_mve_depthwise.c)
                  inplace=CHANNEL_WINDOW,
                  doc=f"Helium targets; depth multiplier 1, at most {DW_MAX_TAPS} taps")]
