"""Loop nests for kernels that walk tensors with strides: broadcasting binary ops and reductions.

A nest is a list of (count, stride_a, stride_b) loops, outermost first, in elements.
Dimensions of extent 1 are dropped and neighbours that walk memory contiguously are
fused, so an elementwise op on equal shapes is one loop whatever its rank. The C
side (tq_ndloop.h) holds at most MAX_LOOPS loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

MAX_LOOPS = 8  # TQ_NDLOOP_MAX in templates/reference/kernels/tq_ndloop.h


@dataclass(frozen=True)
class LoopNest:
    shape: tuple[int, ...]
    stride_a: tuple[int, ...]
    stride_b: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def elementwise(self) -> bool:
        """One dense walk of two equally shaped operands (no broadcast)."""
        return self.rank == 1 and self.stride_a == (1,) and self.stride_b == (1,)

    @property
    def count(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def _dense_strides(shape: Sequence[int]) -> list[int]:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return strides[::-1]


def fuse(loops: Sequence[tuple[int, int, int]]) -> LoopNest:
    """Drop extent-1 loops and fuse an outer loop into the inner one when, for both
    strides, one outer step equals a full sweep of the inner loop."""
    fused: list[list[int]] = []  # innermost first while building
    for n, sa, sb in reversed(list(loops)):
        if n == 1:
            continue
        if fused:
            inner = fused[-1]
            if sa == inner[1] * inner[0] and sb == inner[2] * inner[0]:
                inner[0] *= n
                continue
        fused.append([n, sa, sb])
    if not fused:
        fused = [[1, 0, 0]]
    fused.reverse()
    return LoopNest(shape=tuple(n for n, _, _ in fused), stride_a=tuple(a for _, a, _ in fused),
                    stride_b=tuple(b for _, _, b in fused))


def broadcast_shape(shape_a: Sequence[int], shape_b: Sequence[int]) -> tuple[int, ...] | None:
    """numpy/TFLite broadcasting of two shapes, or None if they do not broadcast."""
    rank = max(len(shape_a), len(shape_b))
    a = (1,) * (rank - len(shape_a)) + tuple(shape_a)
    b = (1,) * (rank - len(shape_b)) + tuple(shape_b)
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            return None
        out.append(y if x == 1 else x)
    return tuple(out)


def broadcast_loops(shape_a: Sequence[int], shape_b: Sequence[int], out_shape: Sequence[int]) -> LoopNest:
    """Loops over the output in memory order; stride_a/stride_b step the two inputs,
    0 along the dimensions an input broadcasts."""
    rank = len(out_shape)
    a = (1,) * (rank - len(shape_a)) + tuple(shape_a)
    b = (1,) * (rank - len(shape_b)) + tuple(shape_b)
    sa, sb = _dense_strides(a), _dense_strides(b)
    return fuse([(n, 0 if da == 1 else xa, 0 if db == 1 else xb)
                 for n, da, db, xa, xb in zip(out_shape, a, b, sa, sb)])


def reduce_loops(shape: Sequence[int], axes: Sequence[int]) -> tuple[LoopNest, LoopNest]:
    """(outer, inner): outer walks the kept dimensions (one output each, in output
    order), inner the reduced ones; both step the input (stride_a; stride_b unused)."""
    strides = _dense_strides(shape)
    kept = [(n, s, s) for i, (n, s) in enumerate(zip(shape, strides)) if i not in axes]
    reduced = [(n, s, s) for i, (n, s) in enumerate(zip(shape, strides)) if i in axes]
    return fuse(kept), fuse(reduced)


def broadcast_nests(shapes: Sequence[Sequence[int]], out_shape: Sequence[int]) -> tuple[LoopNest, ...]:
    """Loops over the output for more than two operands (SELECT_V2's condition, x and y): one nest
    per pair of operands (0, 1), (2, 3), ... (a missing last operand strides 0), all with the same
    loop counts, so a kernel steps them in lockstep. A dimension fuses into the next inner one only
    where every operand allows it."""
    rank = len(out_shape)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    if len(padded) % 2:
        padded.append((1,) * rank)
    strides = [[0 if d == 1 else x for d, x in zip(s, _dense_strides(s))] for s in padded]
    fused: list[list[int]] = []  # [count, stride of each operand], innermost first while building
    for axis in reversed(range(rank)):
        n, step = out_shape[axis], [s[axis] for s in strides]
        if n == 1:
            continue
        if fused and all(st == inner * fused[-1][0] for st, inner in zip(step, fused[-1][1:])):
            fused[-1][0] *= n
            continue
        fused.append([n, *step])
    fused = fused[::-1] or [[1] + [0] * len(padded)]
    return tuple(LoopNest(shape=tuple(f[0] for f in fused), stride_a=tuple(f[1 + i] for f in fused),
                          stride_b=tuple(f[2 + i] for f in fused)) for i in range(0, len(padded), 2))
