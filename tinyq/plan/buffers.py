"""What the planner places: buffers with a size and a lifetime in execution steps.

A *step* is a position in the execution order (which may differ from the
file's op order, see order.py). A tensor is live from the step that writes it
(graph inputs: step 0) to the last step that reads it; graph outputs stay live
one step past the last op, where invoke copies them out, so no op may reuse
their bytes. Persistent tensors (variable tensors: LSTM/SVDF state, state.py)
are live at every step, from step 0 to that last one: they keep their bytes
from one invoke to the next. Constants are not buffers: they stay in flash.

A view (RESHAPE) and its base share one buffer, live from the first step of
any of them to the last. An in-place output keeps its own buffer; the pair may
overlap (the output starting at least `shift` bytes below the input), which the
strategies see as a reduced separation between the two (`Overlaps`), and the
lower bound as the pair's least union. Each op's scratch memory is a buffer of
its own, live for that op's step only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from tinyq.lower import LoweredGraph
from tinyq.plan.state import persistent_tensors


@dataclass(frozen=True)
class Buffer:
    name: str  # "t12" for the buffer holding tensor 12, "op3.scratch" for op 3's scratch
    size: int
    first: int  # first step at which it is live
    last: int  # last step at which it is live (inclusive)
    tensors: tuple[int, ...] = ()  # tensors stored in it
    alignment: int = 16
    places: tuple[int, ...] = ()  # byte offset of tensors[i] inside the buffer (empty: all 0)

    def place_of(self, tensor: int) -> int:
        return self.places[self.tensors.index(tensor)] if self.places else 0


@dataclass(frozen=True)
class Lifetime:
    """One tensor's own lifetime in steps (before grouping)."""

    tensor: int
    size: int
    first: int
    last: int


def align_up(x: int, alignment: int) -> int:
    return (x + alignment - 1) // alignment * alignment


def activation_sizes(lowered: LoweredGraph) -> dict[int, int]:
    """Bytes of every non-constant tensor the ops or the graph's inputs/outputs name."""
    graph = lowered.graph
    names = {t for k in lowered.ops for t in k.inputs + k.outputs} | set(graph.inputs) | set(graph.outputs)
    return {t: graph.tensors[t].nbytes for t in names if t >= 0 and not graph.tensors[t].is_const}


def tensor_lifetimes(lowered: LoweredGraph, order: Sequence[int],
                     sizes: dict[int, int] | None = None) -> dict[int, Lifetime]:
    """Every activation tensor an op reads or writes, with its first and last step.
    `sizes` (activation_sizes) saves recomputing tensor sizes for each candidate order."""
    graph = lowered.graph
    sizes = sizes if sizes is not None else activation_sizes(lowered)
    end = len(order)  # graph outputs outlive the last op: invoke copies them out after it
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(t: int, step: int) -> None:
        if t not in sizes:
            return  # constants stay in flash
        first[t] = min(first.get(t, step), step)
        last[t] = max(last.get(t, step), step)

    for t in graph.inputs:
        touch(t, 0)
    for step, position in enumerate(order):
        k = lowered.ops[position]
        for t in k.inputs + k.outputs:
            touch(t, step)
    for t in graph.outputs:
        touch(t, end)
    for t in persistent_tensors(lowered):  # state: live before, during and after every invoke
        touch(t, 0)
        touch(t, end)
    return {t: Lifetime(t, sizes[t], first[t], last[t]) for t in sorted(first)}


def group_buffers(lifetimes: dict[int, Lifetime], places: dict[int, tuple[int, int]],
                  alignment: int) -> list[Buffer]:
    """One buffer per storage group. `places[t] = (owner, offset of t relative to owner)`;
    tensors missing from `places` own their storage. Relative offsets may be negative
    (an in-place output placed before its input): the buffer starts at the lowest one."""
    members: dict[int, list[tuple[int, int]]] = {}
    for t in lifetimes:
        owner, rel = places.get(t, (t, 0))
        members.setdefault(owner, []).append((t, rel))
    result = []
    for owner in sorted(members):
        items = sorted(members[owner], key=lambda m: m[0])
        low = min(rel for _, rel in items)
        size = max(rel - low + lifetimes[t].size for t, rel in items)
        result.append(Buffer(
            name=f"t{owner}", size=size, first=min(lifetimes[t].first for t, _ in items),
            last=max(lifetimes[t].last for t, _ in items), tensors=tuple(t for t, _ in items),
            alignment=alignment, places=tuple(rel - low for _, rel in items)))
    return result


def scratch_buffers(scratch: Sequence[int], order: Sequence[int], alignment: int) -> list[Buffer]:
    """`scratch[position]` bytes for each op, live only at that op's step."""
    return [Buffer(name=f"op{position}.scratch", size=scratch[position], first=step, last=step,
                   alignment=alignment)
            for step, position in enumerate(order) if scratch[position]]


# (below, above) buffer indices -> least bytes `below` must start under `above` when the two
# overlap; any pair not listed must not share a byte while both are live.
Overlaps = Mapping[tuple[int, int], int]


def separation(buffers: Sequence[Buffer], overlaps: Overlaps, below: int, above: int) -> int:
    """Least distance from `below`'s start up to `above`'s start when `below` is the lower one."""
    return overlaps.get((below, above), buffers[below].size)


def _pair_footprint(buffers: Sequence[Buffer], below: int, above: int, gap: int) -> int:
    return max(buffers[below].size, gap + buffers[above].size)


def _blocks(buffers: Sequence[Buffer], live: list[int], pairs: list[tuple[int, int, int]]
            ) -> tuple[list[tuple[int, int]], int]:
    """What must be stacked at a step whose live buffers and live overlap pairs (below, above, gap) these
    are: ([(bytes, alignment) of each block], bytes to deduct).

    Each live buffer is a block, except that a pair allowed to overlap counts as one block of
    the least union it needs. In a plan one op runs per step and offers at most one in-place
    pair; if several pairs are live at one step, the buffers stay separate blocks and every
    pair's saving is deducted instead (the union of sets is at least their total size minus
    their pairwise intersections)."""
    savings = [(buffers[i].size + buffers[j].size - _pair_footprint(buffers, i, j, g), i, j) for i, j, g in pairs]
    savings = [p for p in savings if p[0] > 0]
    blocks = [(buffers[i].size, buffers[i].alignment) for i in live]
    if len(savings) != 1:
        return blocks, sum(saving for saving, _, _ in savings)
    saving, i, j = savings[0]
    rest = [(buffers[k].size, buffers[k].alignment) for k in live if k not in (i, j)]
    return rest + [(buffers[i].size + buffers[j].size - saving, min(buffers[i].alignment, buffers[j].alignment))], 0


def _steps(buffers: Sequence[Buffer]) -> int:
    return max((b.last for b in buffers), default=-1) + 1


def _blocks_per_step(buffers: Sequence[Buffer], overlaps: Overlaps, steps: int | None = None
                     ) -> list[tuple[list[tuple[int, int]], int]]:
    """_blocks at every step, from one pass over the lifetimes (not one over every buffer per step:
    unrolled RNNs have hundreds of steps, and searches plan many candidates)."""
    steps = _steps(buffers) if steps is None else steps
    live: list[list[int]] = [[] for _ in range(steps)]
    pairs: list[list[tuple[int, int, int]]] = [[] for _ in range(steps)]
    for i, b in enumerate(buffers):
        for s in range(max(b.first, 0), min(b.last + 1, steps)):
            live[s].append(i)
    for (i, j), g in overlaps.items():
        for s in range(max(buffers[i].first, buffers[j].first, 0), min(buffers[i].last, buffers[j].last) + 1):
            if s < steps:
                pairs[s].append((i, j, g))
    return [_blocks(buffers, live[s], pairs[s]) for s in range(steps)]


def lower_bound(buffers: Sequence[Buffer], overlaps: Overlaps | None = None) -> int:
    """Max over steps of the bytes that must be live at that step: no placement can use less."""
    return max(live_bytes(buffers, _steps(buffers), overlaps), default=0)


def aligned_lower_bound(buffers: Sequence[Buffer], overlaps: Overlaps | None = None) -> int:
    """The lower bound counting alignment: blocks stacked at one step each start on an offset
    aligned to (at least) the smallest alignment among them, so all but the topmost occupy
    their size rounded up to it."""
    best = 0
    for blocks, deduct in _blocks_per_step(buffers, overlaps or {}):
        if deduct or not blocks:
            best = max(best, sum(size for size, _ in blocks) - deduct)
            continue
        a = min(al for _, al in blocks)
        padded = sum(align_up(size, a) for size, _ in blocks)
        best = max(best, padded - min(align_up(size, a) - size for size, _ in blocks))
    return best


def live_bytes(buffers: Sequence[Buffer], steps: int, overlaps: Overlaps | None = None) -> list[int]:
    """Bytes that must be reserved at each step (the timeline `tinyq plan` prints)."""
    return [sum(size for size, _ in blocks) - deduct for blocks, deduct in _blocks_per_step(buffers, overlaps or {}, steps)]
