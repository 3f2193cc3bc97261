"""conv_2d as tq_mve_conv_s8: 2 pixels x 4 channels of 16-lane dot products."""

from __future__ import annotations

import numpy as np

from tinyq.backends.tq_mve import LANES
from tinyq.backends.tq_mve.packing import pack_quads, requant_columns
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


STACK_ROW = 256  # TQ_MVE_CONV_STACK_ROW in tq_mve_conv.h: im2col rows up to this size are on the stack


def rows_scratch_bytes(row_bytes: int) -> int:
    """Two im2col rows in the arena, or none when they fit tq_mve_conv_s8's stack buffer (the peak
    of a network is usually a large tensor with a small row: its scratch would add to the arena)."""
    return 0 if row_bytes <= STACK_ROW else 2 * row_bytes


def conv_scratch_bytes(p) -> int:
    return 0 if conv_direct(p) else rows_scratch_bytes(LANES * conv_chunks(p))


def stack_bytes(row_bytes: int, direct: bool, out_d: int, in_place: bool) -> int:
    """What tq_mve_conv_s8 keeps on the stack for a layer: its two im2col rows when they fit
    STACK_ROW, and the held second pixel when the output overlaps the input (out_d <= HOLD).
    Part of the model's RAM (tinyq/plan/keep_arena.py, tinyq plan)."""
    rows = 0 if direct or row_bytes > STACK_ROW else 2 * row_bytes
    return rows + (out_d if in_place and out_d <= HOLD else 0)


def conv_stack_bytes(p, in_place: bool) -> int:
    return stack_bytes(LANES * conv_chunks(p), conv_direct(p), p.out_d, in_place)


def conv_consts(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    p = k.params
    rows = k.const("filter").reshape(p.out_d, -1)
    columns = requant_columns(k)
    if conv_runs_padded(p):  # each window row's weights padded to whole vectors
        runs = rows.reshape(p.out_d, p.filter_h, p.filter_w * p.in_d)
        padded = np.zeros((p.out_d, p.filter_h, -(-runs.shape[2] // LANES) * LANES), dtype=np.int8)
        padded[:, :, :runs.shape[2]] = runs
        rows = padded.reshape(p.out_d, -1)
    return (ConstArray("mve_packed", "int32_t", pack_quads(rows, columns)),)


HOLD = 256  # TQ_MVE_CONV_HOLD in tq_mve_conv.h: up to this many channels the pair's second pixel is held
# tq_mve_conv_s8 takes pixels two at a time in raster order (im2col rows, or windows and 1x1 rows read
# in place) and re-reads both rows for every 4 output channels; the first pixel's channels are written
# as they come (the reference convolution's order), the second's after the pair when they fit the
# stack buffer, else as they come too (rows read past a window hit zero weights either way)
HELD = InPlace(WINDOW.shift, "tq_mve_conv_s8 writes the first pixel of a pair while reading both pixels' "
                             "rows, and the second (held on the stack) after them, pairs in raster order")
PAIRS = gemm_window(2, "tq_mve_conv_s8 reads two pixels' rows for every 4 output channels it writes to both, "
                       "pixel pairs in raster order")


def conv_inplace(k: Lowered, target: Target, function: str) -> InPlace:
    return HELD if k.params.out_d <= HOLD else PAIRS

KERNELS = [Kernel(name="conv_2d", template="tq_mve/conv_2d.c.j2", uses=(), derived=conv_consts,
                  applies=conv_reason, function=lambda k, t: "tq_mve_conv_s8",
                  scratch=lambda k, t: conv_scratch_bytes(k.params), stack=lambda k, t, i: conv_stack_bytes(k.params, i),
                  inplace=conv_inplace,
                  doc="Helium targets; no groups")]
