"""Storage sharing decided along an execution order: views and in-place options.

Walking the order step by step:

* a view (`Lowered.alias_of`, e.g. RESHAPE) takes its base's bytes: they become
  one buffer;
* an op whose kernel has an in-place rule (tinyq/ops/inplace.py) *may* put its output
  over an input whose whole storage dies at this step (no later reader, not a
  graph output), starting at least `shift` bytes before that input. That is an
  option for the offset strategies, not a decision: the output stays its own
  buffer, and the strategies may place it overlapping the input (from `shift`
  bytes below it) or anywhere else. Of the inputs that qualify, the one whose
  overlap would save the most bytes is offered.

After placement, memory.py records the options the plan used as `Alias`
records, which verify.verify_tensors checks against the kernel rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tinyq.lower import LoweredGraph
from tinyq.ops.base import InPlace
from tinyq.plan.buffers import Lifetime, align_up


@dataclass(frozen=True)
class Alias:
    tensor: int  # the tensor that reuses storage
    base: int  # the tensor whose storage it reuses
    shift: int  # `tensor` starts this many bytes before `base` (0: same start)
    kind: str  # "view" or "in-place"
    position: int  # the op (position in lowered.ops) that writes `tensor`


@dataclass(frozen=True)
class InPlaceOption:
    tensor: int  # the op's output
    base: int  # the input it may overwrite (dies at this op)
    shift: int  # least bytes the output must start below the input, aligned
    position: int
    step: int


def views_and_options(lowered: LoweredGraph, order: Sequence[int], lifetimes: dict[int, Lifetime],
                      rules: Sequence[InPlace | None], alignment: int = 16, in_place: bool = True,
                      shifts: dict | None = None
                      ) -> tuple[tuple[Alias, ...], dict[int, int], tuple[InPlaceOption, ...]]:
    """(view aliases, tensor -> the tensor owning its storage, in-place options) for `order`.
    `rules[position]` is the in-place rule of the kernel running each op; `shifts` caches
    rule results (they do not depend on the order) across calls."""
    shifts = shifts if shifts is not None else {}
    graph = lowered.graph
    owner: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    views: list[Alias] = []
    options: list[InPlaceOption] = []

    def root(t: int) -> int:
        return owner.get(t, t)

    def dies_at(r: int, step: int) -> bool:
        return max(lifetimes[t].last for t in members.get(r, [r])) == step

    for step, position in enumerate(order):
        k = lowered.ops[position]
        if k.alias_of is not None:
            base = root(k.alias_of)
            for t in k.outputs:
                owner[t] = base
                members.setdefault(base, [base]).append(t)
                views.append(Alias(t, k.alias_of, 0, "view", position))
            continue
        rule = rules[position] if in_place else None
        if rule is None or len(k.outputs) != 1:
            continue
        y = k.outputs[0]
        size = lifetimes[y].size
        best: tuple[int, int, int] | None = None  # (saving, input, shift)
        for i, t in enumerate(k.inputs):
            if t < 0 or t not in lifetimes or not dies_at(root(t), step):
                continue
            if any(root(u) == root(t) and u != t for u in k.inputs):
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
    return tuple(views), owner, tuple(options)
