"""Storage sharing decided along an execution order: views and in-place options.

Views come first, walking the order op by op. A view makes one tensor a run of
another's bytes, and the two become one storage group (one buffer), its *root* the
tensor whose bytes hold every other member's:

* a view without code (`Lowered.alias_of`, e.g. RESHAPE): the outputs are the
  input's bytes, always taken;
* a placement (`Lowered.placements`): `tensor` may be `base`'s bytes from `offset`
  on (a SLICE output inside its input, a PACK input inside its output). The op's
  kernel copies either way, skipping a copy onto itself, so a placement is an offer:
  it is taken when `tensor` spans its own group (so the whole group moves inside
  `base`, and the root still holds every member) and when the group's bytes kept
  live over the merged lifetime do not raise the peak of the live bytes
  (the groups' sizes summed step by step). An op's placements are tried together
  first (a PACK's slots only pay off all at once), then one by one.

Then the in-place options: an op whose kernel has an in-place rule
(tinyq/ops/inplace.py) *may* put its output over an input whose whole storage
group dies at this step (no later reader, not a graph output), starting at least
`shift` bytes before that input. That is an option for the offset strategies, not a
decision: the output stays its own buffer, and the strategies may place it
overlapping the input (from `shift` bytes below it) or anywhere else. Of the inputs
that qualify, the one whose overlap would save the most bytes is offered. Outputs
that already hold other tensors' bytes (a PACK input written earlier) get none.

Persistent tensors (state.py: variable tensors, live at every step) share storage with
no other tensor: placements that involve one are not taken, they are never in-place
partners, and at the end they are packed, each at an aligned offset, into one storage
group, the state region (with any view of them, e.g. a RESHAPE reading one).

After placement, memory.py records the options the plan used as `Alias` records,
which verify.verify_tensors checks against the kernel rules and the lowerings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tinyq.lower import LoweredGraph
from tinyq.ops.base import InPlace, Placement
from tinyq.plan.buffers import Lifetime, align_up
from tinyq.plan.state import persistent_tensors


@dataclass(frozen=True)
class Alias:
    tensor: int  # the tensor that reuses storage
    base: int  # the tensor whose storage it reuses
    shift: int  # `tensor` starts this many bytes before `base` (0: same start; negative: after, inside it)
    kind: str  # "view" or "in-place"
    position: int  # the op (position in lowered.ops) whose lowering offers it


@dataclass(frozen=True)
class InPlaceOption:
    tensor: int  # the op's output
    base: int  # the input it may overwrite (dies at this op)
    shift: int  # least bytes the output must start below the input, aligned
    position: int
    step: int


class Groups:
    """Storage groups under construction: each tensor's root and its byte offset in the
    root, and the bytes each group keeps live at each step."""

    def __init__(self, lifetimes: dict[int, Lifetime], steps: int):
        self.place: dict[int, tuple[int, int]] = {t: (t, 0) for t in lifetimes}
        self.members: dict[int, list[int]] = {t: [t] for t in lifetimes}
        self.span = {t: (lt.first, lt.last) for t, lt in lifetimes.items()}  # per root
        self.size = {t: lt.size for t, lt in lifetimes.items()}
        self.live = np.zeros(steps, dtype=np.int64)
        for lt in lifetimes.values():
            self.live[lt.first:lt.last + 1] += lt.size

    def copy(self) -> "Groups":
        other = object.__new__(Groups)
        other.place, other.span, other.size = dict(self.place), dict(self.span), self.size
        other.members = {r: list(m) for r, m in self.members.items()}
        other.live = self.live.copy()
        return other

    def root(self, t: int) -> int:
        return self.place[t][0]

    def spans_group(self, t: int) -> bool:
        """`t` is all of its group's bytes (the root, or a same-sized view of it at 0)."""
        root, offset = self.place[t]
        return offset == 0 and self.size[t] == self.size[root]

    def merged_peak(self, inner: int, outer: int) -> tuple[int, np.ndarray]:
        """(peak, live bytes) if root `inner`'s group moved into root `outer`'s (which holds it)."""
        live = self.live.copy()
        (fa, la), (fb, lb) = self.span[inner], self.span[outer]
        live[fa:la + 1] -= self.size[inner]
        live[fb:lb + 1] -= self.size[outer]
        live[min(fa, fb):max(la, lb) + 1] += self.size[outer]
        return int(live.max()), live

    def attach(self, inner: int, outer: int, offset: int, live: np.ndarray | None = None) -> None:
        """Root `inner`'s group becomes part of root `outer`'s, `inner` at `offset` in `outer`."""
        if live is None:
            live = self.merged_peak(inner, outer)[1]
        self.live = live
        for m in self.members.pop(inner):
            self.place[m] = (outer, offset + self.place[m][1])
            self.members[outer].append(m)
        (fa, la), (fb, lb) = self.span.pop(inner), self.span[outer]
        self.span[outer] = (min(fa, fb), max(la, lb))

    def dies_at(self, t: int, step: int) -> bool:
        return self.span[self.root(t)][1] == step


def _place(groups: Groups, p: Placement, position: int, peak: int | None) -> Alias | None:
    """Take placement `p` if it is possible and (given a `peak`) keeps the live bytes within it."""
    if p.tensor not in groups.place or p.base not in groups.place:
        return None
    outer, base_offset = groups.place[p.base]
    inner = groups.root(p.tensor)
    if inner == outer or not groups.spans_group(p.tensor):
        return None  # already placed elsewhere (or read twice): the kernel copies
    merged_peak, live = groups.merged_peak(inner, outer)
    if peak is not None and merged_peak > peak:
        return None
    groups.attach(inner, outer, base_offset + p.offset, live)
    return Alias(p.tensor, p.base, -p.offset, "view", position)


def _take_views(lowered: LoweredGraph, order: Sequence[int], groups: Groups,
                persistent: frozenset[int] = frozenset()) -> tuple[list[Alias], Groups]:
    views: list[Alias] = []
    for position in order:
        k = lowered.ops[position]
        if k.alias_of is not None:
            base = k.alias_of
            for t in k.outputs:
                root, offset = groups.place[base]
                groups.attach(t, root, offset)
                views.append(Alias(t, base, 0, "view", position))
        offers = [p for p in k.placements if p.tensor not in persistent and p.base not in persistent]
        if not offers:
            continue
        peak = int(groups.live.max())
        trial = groups.copy()
        taken = [a for a in (_place(trial, p, position, None) for p in offers) if a is not None]
        if taken and trial.live.max() <= peak:
            groups = trial
            views += taken
            continue
        for p in offers:
            alias = _place(groups, p, position, peak)
            if alias is not None:
                views.append(alias)
    return views, groups


def views_and_options(lowered: LoweredGraph, order: Sequence[int], lifetimes: dict[int, Lifetime],
                      rules: Sequence[InPlace | None], alignment: int = 16, in_place: bool = True,
                      shifts: dict | None = None
                      ) -> tuple[tuple[Alias, ...], dict[int, tuple[int, int]], tuple[InPlaceOption, ...]]:
    """(view aliases, tensor -> (the tensor owning its storage, its byte offset there), in-place
    options) for `order`. `rules[position]` is the in-place rule of the kernel running each op;
    `shifts` caches rule results (they do not depend on the order) across calls."""
    shifts = shifts if shifts is not None else {}
    graph = lowered.graph
    groups = Groups(lifetimes, len(order) + 1)  # graph outputs live one step past the last op
    persistent = persistent_tensors(lowered)
    views, groups = _take_views(lowered, order, groups, frozenset(persistent))
    options: list[InPlaceOption] = []
    for step, position in enumerate(order):
        k = lowered.ops[position]
        rule = rules[position] if in_place else None
        if rule is None or len(k.outputs) != 1 or k.alias_of is not None:
            continue
        y = k.outputs[0]
        if groups.root(y) != y or any(lifetimes[m].first < step for m in groups.members[y]):
            continue  # y holds tensors written before it: they would be overwritten
        size = lifetimes[y].size
        best: tuple[int, int, int] | None = None  # (saving, input, shift)
        for i, t in enumerate(k.inputs):
            if t < 0 or t not in lifetimes or t in persistent or not groups.dies_at(t, step):
                continue
            if any(groups.root(u) == groups.root(t) and u != t for u in k.inputs):
                continue  # the op reads the same storage through another tensor: no overlap
            if (position, i) not in shifts:
                shifts[(position, i)] = rule.shift(k, graph, i)
            shift = shifts[(position, i)]
            if shift is None:
                continue
            shift = align_up(shift, alignment)
            saving = min(lifetimes[t].size, size - shift)
            if saving > 0 and (best is None or saving > best[0]):
                best = (saving, t, shift)
        if best is not None:
            options.append(InPlaceOption(y, best[1], best[2], position, step))
    owner = {t: place for t, place in groups.place.items() if place[0] != t}
    owner.update(_state_region(groups, persistent, lifetimes, alignment))
    return tuple(views), owner, tuple(options)


def _state_region(groups: Groups, persistent: Sequence[int], lifetimes: dict[int, Lifetime],
                  alignment: int) -> dict[int, tuple[int, int]]:
    """The persistent tensors' groups packed one after another (aligned) into the first one's:
    tensor -> (that first tensor, byte offset). They are live at every step, so packing them
    changes no step's live bytes beyond the alignment padding."""
    if not persistent:
        return {}
    root, offset, places = persistent[0], 0, {}
    for t in persistent:
        for m in groups.members[t]:
            places[m] = (root, offset + groups.place[m][1])
        offset = align_up(offset + lifetimes[t].size, alignment)
    places.pop(root)
    return places
