"""The strided copy the data-movement ops lower to (templates/reference/kernels/tq_copy.c).

TRANSPOSE, SLICE, STRIDED_SLICE, REVERSE_V2, BROADCAST_TO, SPLIT, SPLIT_V, UNPACK and
PACK move bytes without looking at them, so one copy serves every element type: up
to six nested loops, each advancing the source and the destination by its own byte
stride (negative: backwards, 0: the same bytes again), around a contiguous block.
`copy_loops` builds the loops from one loop per output dimension and simplifies
them: size-1 loops go, neighbours that walk memory as one loop merge, and the
innermost contiguous run becomes the block. A copy left with no loop is one block:
then the output may simply *be* those bytes of the input (a `Placement`).

MIRROR_PAD's source positions do not follow strides; it reads them from a table per
dimension (`table_loops`, tq_copy_table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tinyq.ir import DTYPES, Graph, Operator, Tensor
from tinyq.ops.base import Lowered, Placement, unsupported
from tinyq.ops.common import require_const
from tinyq.ops.operands import operand_sources

MAX_LOOPS = 6  # TQ_COPY_MAX_RANK in tq_copy.h


@dataclass(frozen=True)
class CopyLoops:
    """tq_copy_params_t: loops outermost first around a block of `block` bytes."""

    count: tuple[int, ...]  # iterations of each loop
    src_stride: tuple[int, ...]  # bytes the source moves per iteration
    dst_stride: tuple[int, ...]  # bytes the destination moves per iteration
    block: int  # contiguous bytes copied per innermost iteration
    src_start: int = 0  # byte offset of the first block in the source
    dst_start: int = 0  # ... and in the destination

    @property
    def rank(self) -> int:
        return len(self.count)

    @property
    def one_block(self) -> bool:
        """The copy is one contiguous run of bytes: the destination may be a view of the source."""
        return not self.count

    def padded(self, field: str) -> list[int]:
        """A loop field padded to MAX_LOOPS entries for the C struct."""
        values = list(getattr(self, field))
        return values + [0] * (MAX_LOOPS - len(values))


def item_size(t: Tensor) -> int:
    return DTYPES[t.dtype][1]


def row_major_strides(shape: Sequence[int], item: int) -> list[int]:
    """Byte strides of a dense tensor of `shape`."""
    strides, step = [], item
    for d in reversed(shape):
        strides.append(step)
        step *= int(d)
    return strides[::-1]


def copy_loops(count: Sequence[int], src_stride: Sequence[int], dst_stride: Sequence[int], item: int,
               src_start: int = 0, dst_start: int = 0) -> CopyLoops:
    """The simplest loops that copy like `count` nested loops of one element of `item` bytes."""
    loops = [(int(n), int(s), int(d)) for n, s, d in zip(count, src_stride, dst_stride) if int(n) != 1]
    merged: list[tuple[int, int, int]] = []
    for n, s, d in reversed(loops):  # innermost first: merge an outer loop into the inner one
        if merged:
            n_in, s_in, d_in = merged[-1]
            if s == s_in * n_in and d == d_in * n_in:
                merged[-1] = (n * n_in, s_in, d_in)
                continue
        merged.append((n, s, d))
    merged.reverse()
    block = item
    while merged and merged[-1][1] == block and merged[-1][2] == block:
        block *= merged.pop()[0]
    if len(merged) > MAX_LOOPS:
        raise AssertionError(f"{len(merged)} copy loops (tq_copy runs at most {MAX_LOOPS}): a tinyq bug")
    return CopyLoops(count=tuple(m[0] for m in merged), src_stride=tuple(m[1] for m in merged),
                     dst_stride=tuple(m[2] for m in merged), block=block, src_start=src_start,
                     dst_start=dst_start)


def gather_loops(out_shape: Sequence[int], src_stride: Sequence[int], item: int, src_start: int = 0) -> CopyLoops:
    """Loops writing a dense output of `out_shape` in order, element (i0, i1, ...) from the
    source's byte `src_start + sum(i_d * src_stride[d])`."""
    return copy_loops(out_shape, src_stride, row_major_strides(out_shape, item), item, src_start=src_start)


@dataclass(frozen=True)
class TableLoops:
    """tq_copy_table_params_t: the output in order, a block per innermost iteration, the
    source offset of each block the sum of one table entry per loop (ConstArray "offsets")."""

    count: tuple[int, ...]
    table_start: tuple[int, ...]  # where each loop's entries begin in the offsets array
    block: int

    @property
    def rank(self) -> int:
        return len(self.count)

    def padded(self, field: str) -> list[int]:
        values = list(getattr(self, field))
        return values + [0] * (MAX_LOOPS - len(values))


def table_loops(tables: Sequence[np.ndarray], block: int) -> tuple[TableLoops, np.ndarray]:
    """(loops, the int32 offsets array) for per-loop tables of source byte offsets."""
    tables = [np.asarray(t, dtype=np.int64).reshape(-1) for t in tables]
    if len(tables) > MAX_LOOPS:
        raise AssertionError(f"{len(tables)} table loops (tq_copy_table runs at most {MAX_LOOPS}): a tinyq bug")
    starts = np.cumsum([0] + [t.size for t in tables])[:-1]
    offsets = np.concatenate(tables) if tables else np.zeros(0, dtype=np.int64)
    return (TableLoops(count=tuple(int(t.size) for t in tables), table_start=tuple(int(s) for s in starts),
                       block=block), offsets.astype(np.int32))


@dataclass(frozen=True)
class CopyParams:
    """A single-operand copy (templates/reference/copy.c.j2)."""

    loops: CopyLoops
    sources: tuple[int, ...]  # the data operand: its arena slot, or -1 for the flash array operand0


def copy_lowered(op: Operator, kernel: str, x: Tensor, y: Tensor, loops: CopyLoops, params_type: type = CopyParams,
                 **fields) -> Lowered:
    """`y` = the copy `loops` of `x` (an activation, or a constant kept in flash). When the copy
    is one block of an activation, the planner may make `y` a view of those bytes. The params
    are `params_type(loops=, sources=, **fields)`."""
    sources, inputs, consts = operand_sources((x,))
    placements = (Placement(y.index, x.index, loops.src_start),) if loops.one_block and not x.is_const else ()
    return Lowered(op=op, kernel=kernel, params=params_type(loops=loops, sources=sources, **fields), inputs=inputs,
                   outputs=(y.index,), consts=consts, placements=placements)


def require_dtypes(graph: Graph, op: Operator, tensors: Sequence[Tensor], allowed: Sequence[str]) -> None:
    """Every data tensor one of TFLM's types for the op, all the same type."""
    first = tensors[0]
    if first.dtype not in allowed:
        raise unsupported(graph, op, f"{first.dtype} tensors are not supported (TFLM's {op.op.upper()} moves "
                                     f"{', '.join(allowed)})")
    for t in tensors[1:]:
        if t.dtype != first.dtype:
            raise unsupported(graph, op, f"tensor {t.index} ({t.name}) is {t.dtype}, tensor {first.index} "
                                         f"{first.dtype}", "a copy keeps the element type")


def const_ints(graph: Graph, op: Operator, t: Tensor | None, role: str, dtypes=("int32",)) -> list[int]:
    """The values of a constant index operand (TFLM reads int64 ones as int32 pairs where it
    says int32 only: those are refused)."""
    require_const(graph, op, t, role)
    if t.dtype not in dtypes:
        raise unsupported(graph, op, f"{role} is {t.dtype}; TFLM reads it as {' or '.join(dtypes)}")
    return [int(v) for v in np.asarray(t.data).reshape(-1)]
