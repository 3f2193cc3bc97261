"""What the planner places: buffers with a size and a lifetime in execution steps.

A *step* is a position in the execution order (which may differ from the
file's op order, see order.py). A tensor is live from the step that writes it
(graph inputs: step 0) to the last step that reads it; graph outputs stay live
one step past the last op, where invoke copies them out, so no op may reuse
their bytes. Constants are not buffers: they stay in flash.

Tensors that share storage form one buffer: a view (RESHAPE) sits at its base's
offset, an in-place output sits `shift` bytes before the input it overwrites
(aliasing.py decides which). Each tensor keeps its place inside the buffer, and
the buffer is live from the first step of any of its tensors to the last. Each
op's scratch memory is a buffer of its own, live for that op's step only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tinyq.lower import LoweredGraph


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

    def live_at(self, step: int) -> bool:
        return self.first <= step <= self.last


@dataclass(frozen=True)
class Lifetime:
    """One tensor's own lifetime in steps (before grouping)."""

    tensor: int
    size: int
    first: int
    last: int


def align_up(x: int, alignment: int) -> int:
    return (x + alignment - 1) // alignment * alignment


def tensor_lifetimes(lowered: LoweredGraph, order: Sequence[int]) -> dict[int, Lifetime]:
    """Every activation tensor an op reads or writes, with its first and last step."""
    graph = lowered.graph
    end = len(order)  # graph outputs outlive the last op: invoke copies them out after it
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(t: int, step: int) -> None:
        if t < 0 or graph.tensors[t].is_const:
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
    return {t: Lifetime(t, graph.tensors[t].nbytes, first[t], last[t]) for t in sorted(first)}


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


def lower_bound(buffers: Sequence[Buffer]) -> int:
    """Max over steps of the bytes live at that step: no placement can use less."""
    steps = max((b.last for b in buffers), default=-1) + 1
    live = [0] * steps
    for b in buffers:
        for s in range(b.first, b.last + 1):
            live[s] += b.size
    return max(live, default=0)


def aligned_lower_bound(buffers: Sequence[Buffer]) -> int:
    """The lower bound counting alignment: buffers stacked at one step each start on an
    offset aligned to (at least) the smallest alignment among them, so all but the
    topmost occupy their size rounded up to it."""
    steps = max((b.last for b in buffers), default=-1) + 1
    best = 0
    for s in range(steps):
        live = [b for b in buffers if b.first <= s <= b.last]
        if live:
            a = min(b.alignment for b in live)
            padded = sum(align_up(b.size, a) for b in live)
            best = max(best, padded - min(align_up(b.size, a) - b.size for b in live))
    return best


def live_bytes(buffers: Sequence[Buffer], steps: int) -> list[int]:
    """Bytes live at each step (the timeline `tinyq plan` prints)."""
    live = [0] * steps
    for b in buffers:
        for s in range(b.first, min(b.last, steps - 1) + 1):
            live[s] += b.size
    return live
