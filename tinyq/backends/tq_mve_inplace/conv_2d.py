"""conv_2d as tq_mve_conv_inplace_s8: tq_mve_conv_s8's pairs inside the input, borders one pixel at a time."""

from __future__ import annotations

from tinyq.backends.tq_mve.conv_2d import HOLD, border_consts, conv_direct, conv_inplace
from tinyq.backends.tq_mve_single.conv_2d import single_reason
from tinyq.ops.base import Kernel, Lowered, Target


def inplace_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_conv_inplace_s8 does not run this conv_2d, or None when it does."""
    if conv_direct(k.params):
        return "a 1x1 layer over whole chunks: tq_mve_conv_s8 copies no window"
    return single_reason(k, target)


def held_bytes(p) -> int:
    """The pair's second pixel, held while both windows are read (tq_mve_conv_s8's rule)."""
    return p.out_d if p.batches * p.out_h * p.out_w > 1 and p.out_d <= HOLD else 0


KERNELS = [Kernel(name="conv_2d", template="tq_mve/conv_2d_inplace.c.j2", uses=(), derived=border_consts,
                  applies=inplace_reason, function=lambda k, t: "tq_mve_conv_inplace_s8",
                  scratch=lambda k, t: held_bytes(k.params), inplace=conv_inplace,
                  doc="Helium targets, where the arena guard needs it: pairs without im2col rows (no groups, window rows "
                      "of whole chunks)")]
