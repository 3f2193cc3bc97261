"""conv_2d as tq_mve_conv_single_s8: one pixel x 4 channels of 16-lane dot products, no scratch."""

from __future__ import annotations

from tinyq.backends.tq_mve import LANES
from tinyq.backends.tq_mve.conv_2d import border_consts, conv_reason, conv_runs_padded
from tinyq.ops.base import InPlace, Kernel, Lowered, Target
from tinyq.ops.inplace import WINDOW


def single_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_conv_single_s8 does not run this conv_2d, or None when it does: every window row
    must be whole 16-byte chunks of the packed weights (taps, or taps padded per window row)."""
    p = k.params
    why = conv_reason(k, target)
    if why:
        return why
    if p.dilation_w != 1:
        return "a dilated window row is not one run of input bytes"
    if (p.filter_w * p.in_d) % LANES and not conv_runs_padded(p):
        return "window rows are packed across chunks (no per-row padding): they cannot be read where they lie"
    return None


# the reference convolution's order: each pixel's window read (in place), its channels written,
# then the next pixel
SINGLE = InPlace(WINDOW.shift, "tq_mve_conv_single_s8 reads one pixel's window for every 4 output channels it "
                               "writes to that pixel, pixels in raster order")

KERNELS = [Kernel(name="conv_2d", template="tq_mve/conv_2d_single.c.j2", uses=(), derived=border_consts,
                  applies=single_reason, function=lambda k, t: "tq_mve_conv_single_s8", inplace=SINGLE,
                  doc="Helium targets, where the arena guard needs it: one pixel at a time, no scratch (no groups, window "
                      "rows of whole chunks)")]
