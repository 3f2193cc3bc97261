"""conv_2d as tq_mve_conv_s8: 2 pixels x 4 channels of 16-lane dot products."""

from __future__ import annotations

import numpy as np

from tinyq.backends.tq_mve import LANES
from tinyq.backends.tq_mve.packing import QUAD, pack_quads, requant_columns
from tinyq.ops.base import ConstArray, InPlace, Kernel, Lowered, Target
from tinyq.ops.inplace import WINDOW, gemm_window


def conv_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_conv_s8 does not run this conv_2d, or None when it does."""
    if target.isa != "mve":
        return "tinyq's Helium convolution needs an MVE target"
    if k.params.in_d != k.params.filter_d:
        return "grouped convolution"
    return None


def conv_runs_padded(p) -> bool:
    """Window rows that are not whole vectors are each zero-padded to whole vectors when that
    costs at most half as many vectors again, so windows inside the input are read in place
    (the rule of tq_mve_conv_s8)."""
    taps_w = p.filter_w * p.in_d
    dense, runs = -(-p.filter_h * taps_w // LANES), p.filter_h * -(-taps_w // LANES)
    return not conv_direct(p) and p.dilation_w == 1 and taps_w % LANES != 0 and 2 * runs <= 3 * dense


def conv_chunks(p) -> int:
    """16-byte vectors per im2col row (filter_h * filter_w * in_d, zero-padded as a whole or per
    window row)."""
    taps_w = p.filter_w * p.in_d
    if conv_runs_padded(p):
        return p.filter_h * -(-taps_w // LANES)
    return -(-p.filter_h * taps_w // LANES)


def conv_direct(p) -> bool:
    """A 1x1 unpadded convolution over whole vectors of channels reads its rows in place."""
    return (p.filter_h, p.filter_w, p.pad_h, p.pad_w) == (1, 1, 0, 0) and p.in_d % LANES == 0


def scratch_bytes(row_bytes: int, direct: bool, pixels: int, out_d: int) -> int:
    """tq_mve_conv_s8's scratch: the im2col rows (two, one for a lone pixel; none when rows are read
    in place), then the second pixel of a pair held while both rows are read (out_d <= HOLD).
    Planned in the arena like any op's scratch: it costs memory only where the op is at the peak,
    and there tinyq/plan/keep_arena.py gives the op tq_mve_conv_single_s8, which needs none."""
    rows = 0 if direct else (2 if pixels > 1 else 1) * row_bytes
    return rows + (out_d if pixels > 1 and out_d <= HOLD else 0)


def conv_scratch_bytes(p) -> int:
    return scratch_bytes(LANES * conv_chunks(p), conv_direct(p), p.batches * p.out_h * p.out_w, p.out_d)


def _packed_rows(k: Lowered) -> np.ndarray:
    """[out_d, chunks * 16] int8: each channel's im2col row of weights as the kernel reads it."""
    p = k.params
    rows = k.const("filter").reshape(p.out_d, -1)
    if conv_runs_padded(p):  # each window row's weights padded to whole vectors
        runs = rows.reshape(p.out_d, p.filter_h, p.filter_w * p.in_d)
        padded = np.zeros((p.out_d, p.filter_h, -(-runs.shape[2] // LANES) * LANES), dtype=np.int8)
        padded[:, :, :runs.shape[2]] = runs
        rows = padded.reshape(p.out_d, -1)
    return rows


def conv_consts(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    return (ConstArray("mve_packed", "int32_t", pack_quads(_packed_rows(k), requant_columns(k))),)


def border_consts(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    """conv_consts, and per quad of channels, per 16-byte chunk of the row, the 4 channels' products
    of the chunk's weights with the input zero point (what a chunk of taps outside the input adds:
    tq_mve_conv_single_s8 and tq_mve_conv_inplace_s8 add these instead of reading zero points)."""
    rows = _packed_rows(k).astype(np.int64)
    n, depth = rows.shape
    quads, chunks = -(-n // QUAD), depth // LANES
    sums = np.zeros((quads * QUAD, chunks), dtype=np.int64)
    sums[:n] = rows.reshape(n, chunks, LANES).sum(axis=2) * -k.params.input_offset
    border = sums.reshape(quads, QUAD, chunks).transpose(0, 2, 1).reshape(-1)
    return conv_consts(k, target) + (ConstArray("mve_border", "int32_t", border.astype(np.int32)),)


HOLD = 256  # TQ_MVE_CONV_HOLD in tq_mve_conv.h: up to this many channels the pair's second pixel is held
# tq_mve_conv_s8 takes pixels two at a time in raster order (im2col rows, or windows and 1x1 rows read
# in place) and re-reads both rows for every 4 output channels; the first pixel's channels are written
# as they come (the reference convolution's order), the second's after the pair when they fit the
# scratch, else as they come too (rows read past a window hit zero weights either way)
HELD = InPlace(WINDOW.shift, "tq_mve_conv_s8 writes the first pixel of a pair while reading both pixels' "
                             "rows, and the second (held in the scratch) after them, pairs in raster order")
PAIRS = gemm_window(2, "tq_mve_conv_s8 reads two pixels' rows for every 4 output channels it writes to both, "
                       "pixel pairs in raster order")


def conv_inplace(k: Lowered, target: Target, function: str) -> InPlace:
    return HELD if k.params.out_d <= HOLD else PAIRS

KERNELS = [Kernel(name="conv_2d", template="tq_mve/conv_2d.c.j2", uses=(), derived=conv_consts,
                  applies=conv_reason, function=lambda k, t: "tq_mve_conv_s8",
                  scratch=lambda k, t: conv_scratch_bytes(k.params),
                  inplace=conv_inplace,
                  doc="Helium targets; no groups")]
