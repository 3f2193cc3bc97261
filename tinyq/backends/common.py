"""What several backend layers derive the same way from a lowered op."""

from __future__ import annotations

import numpy as np

from tinyq.ops.base import ConstArray, Lowered


def shift32(k: Lowered) -> ConstArray:
    """The per-channel shifts as int32_t, as CMSIS-NN and ESP-NN take them (tinyq keeps int8_t)."""
    return ConstArray("shift32", "int32_t", k.const("shift").astype(np.int32))


def extent_limit(limit: int, library: str, *extents: int) -> str | None:
    """Why a library that holds extents in 16 bits cannot run a layer this large, or None."""
    if max(extents) > limit:
        return f"an extent of {max(extents)} exceeds the {limit} {library} holds in uint16_t"
    return None


def broadcast_reason(k: Lowered) -> str | None:
    """The libraries' add/mul walk two equally shaped tensors (TFLM's glue runs broadcasts in
    the reference kernel too)."""
    if not k.params.loops.elementwise:
        return f"{k.kernel} broadcasts its operands; the library's elementwise kernel needs equal shapes"
    return None


def per_tensor_requant(k: Lowered) -> bool:
    """One multiplier and shift for every output channel: the per-tensor kernels (same arithmetic)."""
    mult, shift = k.const("multiplier"), k.const("shift")
    return bool((mult == mult[0]).all() and (shift == shift[0]).all())
