"""The flash records tinyq's Helium kernels read: weights and per-channel columns interleaved
so each block of output channels is one run of aligned int32 words."""

from __future__ import annotations

import numpy as np

from tinyq.backends.tq_mve import LANES
from tinyq.ops.base import Lowered

QUAD = 4  # output channels per block of tq_mve_conv_s8
DW_GROUP = 16  # depthwise channels per vector
# tq_mve_depthwise_s8's four accumulators hold these channels of a group, in this order
DW_ORDER = (0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15)


def pack_quads(rows: np.ndarray, per_channel: list[np.ndarray]) -> np.ndarray:
    """[N, K] int8 weights and per-channel int32 columns -> the kernel's int32 words: per quad of
    channels, per 16-byte chunk of a row the quad's 4 chunks, then each column's 4 values
    (zero padding past K and N; int32 words keep the record aligned for vector loads)."""
    n, depth = rows.shape
    chunks, quads = -(-depth // LANES), -(-n // QUAD)
    weights = np.zeros((quads * QUAD, chunks * LANES), dtype=np.int8)
    weights[:n, :depth] = rows
    weights = weights.reshape(quads, QUAD, chunks, LANES).transpose(0, 2, 1, 3).reshape(quads, -1)
    columns = np.zeros((quads * QUAD, len(per_channel)), dtype=np.int32)
    for i, values in enumerate(per_channel):
        columns[:n, i] = values
    columns = columns.reshape(quads, QUAD, -1).transpose(0, 2, 1).reshape(quads, -1)
    words = np.concatenate([weights.view("<i4"), columns.astype("<i4")], axis=1)
    return words.reshape(-1).astype(np.int32)


def requant_columns(k: Lowered) -> list[np.ndarray]:
    """The op's accumulator start (bias + input_offset * the channel's weight sum, from lowering),
    multiplier, left shift, negative right shift."""
    start = k.const("acc_init")
    n = start.size
    shift = np.broadcast_to(k.const("shift").astype(np.int32), (n,))
    multiplier = np.broadcast_to(k.const("multiplier").astype(np.int32), (n,))
    return [start.astype(np.int32), multiplier, np.maximum(shift, 0), np.minimum(shift, 0)]


def pack_depthwise(taps: np.ndarray, per_channel: list[np.ndarray]) -> np.ndarray:
    """[T, C] int8 taps and per-channel int32 columns -> the kernel's int32 words: per group of 16
    channels, each tap's 16 weights, then each column's 16 values in DW_ORDER."""
    n_taps, channels = taps.shape
    groups = -(-channels // DW_GROUP)
    weights = np.zeros((n_taps, groups * DW_GROUP), dtype=np.int8)
    weights[:, :channels] = taps
    weights = weights.reshape(n_taps, groups, DW_GROUP).transpose(1, 0, 2).reshape(groups, -1)
    columns = np.zeros((groups * DW_GROUP, len(per_channel)), dtype=np.int32)
    for i, values in enumerate(per_channel):
        columns[:channels, i] = values
    columns = columns.reshape(groups, DW_GROUP, -1)[:, list(DW_ORDER)].transpose(0, 2, 1).reshape(groups, -1)
    return np.concatenate([weights.view("<i4"), columns.astype("<i4")], axis=1).reshape(-1).astype(np.int32)
