"""Storage sharing decided along an execution order: views and in-place outputs.

Walking the order step by step:

* a view (`Lowered.alias_of`, e.g. RESHAPE) takes its base's bytes;
* an op whose kernel has an in-place rule (inplace.py) may put its output over
  an input whose whole storage group dies at this step (no later reader, not a
  graph output), starting `shift` bytes before that input. Among the inputs
  that qualify, the one that grows the group least wins, and only if that is
  less than a fresh buffer for the output would cost.

The result is a list of Alias records (kept in the plan, checked by
verify.verify_tensors) and a placement of every tensor relative to its group's
owner, from which buffers.group_buffers builds the buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tinyq.lower import LoweredGraph
from tinyq.plan.buffers import Lifetime, align_up
from tinyq.plan.inplace import rule_for


@dataclass(frozen=True)
class Alias:
    tensor: int  # the tensor that reuses storage
    base: int  # the tensor whose storage it reuses
    shift: int  # `tensor` starts this many bytes before `base` (0: same start)
    kind: str  # "view" or "in-place"
    position: int  # the op (position in lowered.ops) that writes `tensor`


@dataclass
class _Groups:
    """Mutable bookkeeping while walking the order; only Alias records leave this module."""

    lifetimes: dict[int, Lifetime]
    places: dict[int, tuple[int, int]]  # tensor -> (owner, offset relative to owner)
    members: dict[int, list[int]]  # owner -> tensors

    def place(self, t: int) -> tuple[int, int]:
        return self.places.get(t, (t, 0))

    def join(self, t: int, owner: int, rel: int) -> None:
        self.places[t] = (owner, rel)
        self.members.setdefault(owner, [owner]).append(t)

    def group(self, owner: int) -> list[int]:
        return self.members.get(owner, [owner])

    def last_step(self, owner: int) -> int:
        return max(self.lifetimes[t].last for t in self.group(owner))

    def span(self, owner: int, extra: tuple[int, int] | None = None) -> int:
        items = [(self.place(t)[1], self.lifetimes[t].size) for t in self.group(owner)]
        if extra:
            items.append(extra)
        return max(r + s for r, s in items) - min(r for r, _ in items)


def choose_aliases(lowered: LoweredGraph, order: Sequence[int], lifetimes: dict[int, Lifetime],
                   backends: Sequence[str], alignment: int = 16,
                   in_place: bool = True) -> tuple[tuple[Alias, ...], dict[int, tuple[int, int]]]:
    """(aliases, places) for `order`; `backends[position]` names the backend running each op."""
    graph = lowered.graph
    groups = _Groups(lifetimes, {}, {})
    aliases: list[Alias] = []
    for step, position in enumerate(order):
        k = lowered.ops[position]
        if k.alias_of is not None:
            owner, rel = groups.place(k.alias_of)
            for t in k.outputs:
                groups.join(t, owner, rel)
                aliases.append(Alias(t, k.alias_of, 0, "view", position))
            continue
        rule = rule_for(k.kernel, backends[position]) if in_place else None
        if rule is None or len(k.outputs) != 1:
            continue
        y = k.outputs[0]
        size = graph.tensors[y].nbytes
        best: tuple[int, int, int, int] | None = None  # (growth, input, owner, rel)
        for i, t in enumerate(k.inputs):
            owner, rel = groups.place(t)
            if t < 0 or t not in lifetimes or groups.last_step(owner) != step:
                continue
            others = [u for u in k.inputs if u != t and groups.place(u)[0] == owner]
            if any(groups.place(u)[1] != rel or lifetimes[u].size != lifetimes[t].size for u in others):
                continue  # another input in the same storage at other bytes: keep it simple, no overlap
            shift = rule.shift(k, graph, i)
            if shift is None:
                continue
            new_rel = rel - align_up(shift, alignment)
            growth = groups.span(owner, (new_rel, size)) - groups.span(owner)
            if growth < size and (best is None or growth < best[0]):
                best = (growth, t, owner, new_rel)
        if best is not None:
            _, base, owner, new_rel = best
            groups.join(y, owner, new_rel)
            aliases.append(Alias(y, base, groups.place(base)[1] - new_rel, "in-place", position))
    return tuple(aliases), groups.places
