"""Lifetimes from the execution order, then offsets in one arena.

Buffers: every non-constant tensor an op reads or writes (graph inputs and
outputs included), views (RESHAPE) folded into the buffer they alias, and each
op's scratch. A buffer is live from the step that writes it (graph inputs: step
0) to the last step that reads it (graph outputs: the end).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.lower import LoweredGraph


@dataclass(frozen=True)
class Buffer:
    name: str  # "t12" for tensor 12, "op3.scratch" for op 3's scratch
    size: int
    first: int  # first step (op position) at which it is live
    last: int  # last step at which it is live (inclusive)
    tensors: tuple[int, ...] = ()  # tensors stored in it (views share their base)
    alignment: int = 16


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    lower_bound_bytes: int  # max over steps of the bytes live at that step
    buffers: tuple[Buffer, ...]
    offsets: tuple[int, ...]  # offsets[i] belongs to buffers[i]
    strategy: str = "greedy-by-size"

    def tensor_offset(self, tensor: int) -> int:
        for buf, off in zip(self.buffers, self.offsets):
            if tensor in buf.tensors:
                return off
        raise KeyError(f"tensor {tensor} has no buffer in the plan")

    def scratch_offset(self, op_position: int) -> int | None:
        name = f"op{op_position}.scratch"
        for buf, off in zip(self.buffers, self.offsets):
            if buf.name == name:
                return off
        return None


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def buffers_of(lowered: LoweredGraph, alignment: int = 16) -> list[Buffer]:
    graph = lowered.graph
    base: dict[int, int] = {}  # tensor -> tensor that owns its storage
    for k in lowered.ops:
        if k.alias_of is not None:
            for t in k.outputs:
                base[t] = base.get(k.alias_of, k.alias_of)
    end = len(lowered.ops)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def touch(t: int, step: int) -> None:
        owner = base.get(t, t)
        members.setdefault(owner, [])
        if t not in members[owner]:
            members[owner].append(t)
        first[owner] = min(first.get(owner, step), step)
        last[owner] = max(last.get(owner, step), step)

    for t in graph.inputs:
        touch(t, 0)
    for step, k in enumerate(lowered.ops):
        for t in k.inputs + k.outputs:
            touch(t, step)
    for t in graph.outputs:
        touch(t, end - 1 if end else 0)
    result = [Buffer(name=f"t{owner}", size=graph.tensors[owner].nbytes, first=first[owner],
                     last=last[owner], tensors=tuple(sorted(members[owner])), alignment=alignment)
              for owner in sorted(members)]
    for step, k in enumerate(lowered.ops):
        if k.scratch_bytes:
            result.append(Buffer(name=f"op{step}.scratch", size=k.scratch_bytes, first=step, last=step,
                                 alignment=alignment))
    return result


def lower_bound(buffers: list[Buffer]) -> int:
    steps = max((b.last for b in buffers), default=-1) + 1
    return max((sum(b.size for b in buffers if b.first <= s <= b.last) for s in range(steps)), default=0)


def _overlaps(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def greedy_by_size(buffers: list[Buffer]) -> list[int]:
    """TFLM's strategy: largest first, each at the lowest offset that fits between
    the already placed buffers whose lifetimes overlap its own."""
    offsets = [0] * len(buffers)
    placed: list[int] = []
    for i in sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, i)):
        b = buffers[i]
        busy = sorted((offsets[j], offsets[j] + buffers[j].size) for j in placed if _overlaps(b, buffers[j]))
        offset = 0
        for start, stop in busy:
            if offset + b.size <= start:
                break
            offset = max(offset, _align(stop, b.alignment))
        offsets[i] = offset
        placed.append(i)
    return offsets


def verify(buffers: list[Buffer], offsets: list[int]) -> None:
    """Raise AssertionError if two simultaneously live buffers share a byte."""
    for i, a in enumerate(buffers):
        if offsets[i] % a.alignment:
            raise AssertionError(f"{a.name} at {offsets[i]} breaks its {a.alignment}-byte alignment")
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if _overlaps(a, b) and offsets[i] < offsets[j] + b.size and offsets[j] < offsets[i] + a.size:
                raise AssertionError(f"{a.name} and {b.name} are live together and overlap")


def plan_memory(lowered: LoweredGraph, alignment: int = 16) -> MemoryPlan:
    buffers = buffers_of(lowered, alignment)
    offsets = greedy_by_size(buffers)
    verify(buffers, offsets)
    arena = max((o + b.size for b, o in zip(buffers, offsets)), default=0)
    return MemoryPlan(arena_bytes=_align(arena, alignment), lower_bound_bytes=lower_bound(buffers),
                      buffers=tuple(buffers), offsets=tuple(offsets))
