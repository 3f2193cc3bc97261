"""transpose as arm_transpose_s8, where TFLM's CMSIS-NN glue calls it (int8, up to 4-D) and
its code paths move the bytes right (v7.0.0; the pinned main has the same arm_transpose_s8)."""

from __future__ import annotations

from tinyq.backends.cmsis_nn import MAX_EXTENT
from tinyq.ops.base import Kernel

MAX_RANK = 4  # TFLM's cmsis_nn/transpose.cc: TF_LITE_ENSURE(context, size <= 4)
MVE_GATHER_SPAN = 65535  # the Helium row gather's uint16 lane offsets: lane i reads i * cols bytes on
MVE_LANES = 8


def _applies(k, target) -> str | None:
    p = k.params
    rank = len(p.perm)
    if p.dtype != "int8":
        return f"arm_transpose_s8 moves int8; TFLM's glue runs {p.dtype} in the reference kernel"
    if rank > MAX_RANK:
        return f"{rank}-D; TFLM's CMSIS-NN transpose takes at most {MAX_RANK} dimensions"
    if p.loops.one_block:
        return "only size-1 dimensions move: one block the reference kernel copies (or skips, as a view)"
    # arm_transpose_s8_nhcw (2-D always, 4-D with perm [0, 1, 3, 2] on Helium) holds the two
    # transposed extents in uint16_t, and on Helium gathers up to 8 rows at once, lane i at byte
    # offset i * cols in a uint16 lane: beyond 65535 the offset wraps and the lane reads the wrong
    # byte (checked under QEMU: 8 rows of 9362 columns right, of 9400 wrong)
    nhcw = rank == 2 or (target.isa == "mve" and rank == 4 and p.perm[:2] == (0, 1))
    if nhcw:
        rows, cols = p.in_shape[-2], p.in_shape[-1]
        if max(rows, cols) > MAX_EXTENT:
            return f"an extent of {max(rows, cols)} exceeds the {MAX_EXTENT} CMSIS-NN holds in uint16_t"
        if target.isa == "mve" and (min(rows, MVE_LANES) - 1) * cols > MVE_GATHER_SPAN:
            return f"{rows} rows of {cols} bytes: the Helium gather's uint16 offsets wrap past {MVE_GATHER_SPAN}"
    return None


KERNELS = [Kernel(name="transpose", template="cmsis_nn/transpose.c.j2", applies=_applies,
                  function=lambda k, t: "arm_transpose_s8",
                  doc=f"int8, up to {MAX_RANK}-D (as TFLM's glue); not for views")]
