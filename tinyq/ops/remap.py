"""One copy kernel for the data-movement ops whose source positions are known offline.

GATHER / GATHER_ND / EMBEDDING_LOOKUP with constant indices, BATCH_TO_SPACE_ND,
SPACE_TO_BATCH_ND, DEPTH_TO_SPACE, SPACE_TO_DEPTH and RESIZE_NEAREST_NEIGHBOR all write
their output in order as `batches x rows x cols` chunks of `chunk` bytes, each chunk a
contiguous run of the input (or padding). The source of chunk (b, y, x) is

    row_offsets[b * rows + y] + col_offsets[b * col_batch_stride + x]   (bytes)

and a chunk whose row or column offset is -1 is padding. Each op computes its two
tables here, offline, from its shapes, options and constant operands; the C kernel
(tq_remap.c) only adds and copies. Tables are int32 byte offsets (tensors stay below
2^31 bytes, validate.py). A remap that reproduces its whole input in order (block size 1,
a resize to the same size) is a view instead: no copy, no arena; one that copies a single
contiguous run (a gather of consecutive rows) is one copy the planner may turn into a view
at that offset (a Placement: the kernel skips a copy onto itself).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Operator, Tensor
from tinyq.ops.base import ConstArray, Lowered, Placement, reference_kernel
from tinyq.ops.operands import operand_sources
from tinyq.ops.reshape import ViewParams

PAD = -1  # a row or column offset meaning "padding": the chunk is filled, not copied


@dataclass(frozen=True)
class RemapParams:
    batches: int
    rows: int
    cols: int
    chunk: int  # bytes per copied run
    col_batch_stride: int  # cols when each batch has its own column table, else 0
    pad_byte: int  # the byte padding chunks are filled with
    sources: tuple[int, ...]  # the data operand: arena slot, or -1 for the flash array operand0


def lowered(op: Operator, x: Tensor, y: Tensor, batches: int, chunk: int, row_offsets, col_offsets,
            per_batch_cols: bool = False, pad_byte: int = 0) -> Lowered:
    """A remap of `x` into `y`: row_offsets has batches*rows entries, col_offsets cols
    (or batches*cols with per_batch_cols), both in bytes (PAD: padding)."""
    rows = np.asarray(row_offsets, dtype=np.int64).reshape(-1)
    cols = np.asarray(col_offsets, dtype=np.int64).reshape(-1)
    n_rows = rows.size // batches
    n_cols = cols.size // batches if per_batch_cols else cols.size
    assert n_rows * batches == rows.size and batches * n_rows * n_cols * chunk == y.nbytes
    assert _in_bounds(rows, cols, batches, n_cols if per_batch_cols else 0, chunk, x.nbytes)
    start = _one_block(rows, cols, batches, per_batch_cols, chunk)
    placements = ()
    if start is not None:
        if start == 0 and y.nbytes == x.nbytes and not x.is_const:
            # block size 1, a resize to the same size, a gather of every row in order: the output is the input
            return Lowered(op=op, kernel="view", params=ViewParams(bytes=x.nbytes), inputs=(x.index,),
                           outputs=(y.index,), alias_of=x.index)
        # one run of the input (a gather of consecutive rows): one copy, which the planner may make a view
        batches, n_rows, n_cols, chunk, per_batch_cols = 1, 1, 1, y.nbytes, False
        rows, cols = np.array([start]), np.array([0])
        placements = () if x.is_const else (Placement(y.index, x.index, start),)
    sources, inputs, consts = operand_sources((x,))
    params = RemapParams(batches=batches, rows=n_rows, cols=n_cols, chunk=chunk,
                         col_batch_stride=n_cols if per_batch_cols else 0, pad_byte=pad_byte & 0xFF,
                         sources=sources)
    tables = (ConstArray("row_offsets", "int32_t", rows.astype(np.int32)),
              ConstArray("col_offsets", "int32_t", cols.astype(np.int32)))
    return Lowered(op=op, kernel="remap", params=params, inputs=inputs, outputs=(y.index,),
                   consts=consts + tables, placements=placements)


def _one_block(rows: np.ndarray, cols: np.ndarray, batches: int, per_batch_cols: bool, chunk: int) -> int | None:
    """The byte offset where the chunks, in order, form one contiguous run of the input; else None."""
    if (rows == PAD).any() or (cols == PAD).any():
        return None
    starts = (rows.reshape(batches, -1, 1) + cols.reshape(batches if per_batch_cols else 1, 1, -1)).reshape(-1)
    return int(starts[0]) if np.array_equal(starts - starts[0], np.arange(starts.size) * chunk) else None


def _in_bounds(rows: np.ndarray, cols: np.ndarray, batches: int, col_stride: int, chunk: int, size: int) -> bool:
    """Every copied chunk lies inside the input (the tables are tinyq's own: a failure is a bug)."""
    for b in range(batches):
        r = rows.reshape(batches, -1)[b]
        c = cols.reshape(batches, -1)[b] if col_stride else cols
        r, c = r[r != PAD], c[c != PAD]
        if r.size and c.size and (r.min() + c.min() < 0 or r.max() + c.max() + chunk > size):
            return False
    return True


REMAP = reference_kernel("remap")
