"""CMSIS-NN layer: Arm's optimized s8 and s4 kernels for Cortex-M (pure C, DSP, Helium).

Every parameter the calls take (offsets, per-channel multipliers and shifts,
activation ranges, dims, padding) is already in the op's lowered parameters,
computed exactly as TFLM's CMSIS-NN glue computes them; each module here adds, per
kernel, the conditions under which the CMSIS-NN function reproduces TFLM, the
function it ends up in (rules.py: the library's wrappers' choice, made offline),
its scratch size on the build's target and the arrays its call wants. Call
templates: templates/cmsis_nn/<kernel>.c.j2.
"""

from __future__ import annotations

from tinyq.backends.common import extent_limit
from tinyq.ops.geometry import Window2D

NAME = "cmsis-nn"
LIBRARY = "cmsis-nn"  # tinyq.libraries: the pinned release the rules follow
MAX_EXTENT = 65535  # several kernels hold extents in uint16_t


def too_large(*extents: int) -> str | None:
    return extent_limit(MAX_EXTENT, "CMSIS-NN", *extents)


def window_limits(p: Window2D) -> str | None:
    return too_large(p.in_h, p.in_w, p.out_h, p.out_w, p.batches)
