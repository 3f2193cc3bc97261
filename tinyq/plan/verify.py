"""The proof a plan is safe, tensor by tensor (strategies.verify checks buffers).

For every pair of tensors (and scratch areas) whose lifetimes share a step and
whose arena bytes overlap, the overlap must be one the plan recorded and a
kernel rule allows:

* a view and its base: same bytes;
* an in-place output and the input it overwrites: they share exactly the one
  step of the op, the input (and every view of it) is dead after it, and the
  output starts at least the rule's least shift before the input.

Anything else raises AssertionError naming both tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from tinyq.lower import LoweredGraph
from tinyq.ops.base import InPlace
from tinyq.plan.buffers import tensor_lifetimes

if TYPE_CHECKING:
    from tinyq.plan.memory import MemoryPlan


def verify_tensors(lowered: LoweredGraph, plan: "MemoryPlan", rules: Sequence[InPlace | None]) -> None:
    """`rules[position]`: the in-place rule of the kernel that runs each op (BoundOp.inplace)."""
    order = plan.execution_order(len(lowered.ops))
    step_of = {position: step for step, position in enumerate(order)}
    life = tensor_lifetimes(lowered, order)
    span = {t: (plan.tensor_offset(t), plan.tensor_offset(t) + lt.size) for t, lt in life.items()}
    root: dict[int, int] = {}
    for a in plan.aliases:
        if a.kind == "view":
            root[a.tensor] = root.get(a.base, a.base)
    in_place = {a.tensor: a for a in plan.aliases if a.kind == "in-place"}

    def allowed(t: int, u: int) -> str | None:
        """None when the overlap of t and u is justified, else why not."""
        if root.get(t, t) == root.get(u, u):
            return None if span[t] == span[u] else "views of one tensor at different offsets"
        for x, y in ((t, u), (u, t)):
            a = in_place.get(y)
            if a is None or root.get(x, x) != root.get(a.base, a.base):
                continue
            step = step_of[a.position]
            if not (life[x].last == step == life[y].first):
                return f"in-place pair live together beyond op {a.position}"
            if span[x] != span[a.base]:
                return "in-place input is not where its base is"
            k = lowered.ops[a.position]
            rule = rules[a.position]
            if rule is None:
                return f"kernel {k.kernel} has no in-place rule"
            need = rule.shift(k, lowered.graph, k.inputs.index(a.base))
            if need is None or span[x][0] - span[y][0] < need:
                return f"output starts {span[x][0] - span[y][0]} B before the input, the kernel needs {need}"
            return None
        return "no alias allows it"

    tensors = sorted(life)
    for i, t in enumerate(tensors):
        if span[t][0] < 0 or span[t][1] > plan.arena_bytes:
            raise AssertionError(f"tensor {t} [{span[t][0]}, {span[t][1]}) is outside the arena")
        for u in tensors[i + 1:]:
            if life[t].first <= life[u].last and life[u].first <= life[t].last \
                    and span[t][0] < span[u][1] and span[u][0] < span[t][1]:
                reason = allowed(t, u)
                if reason is not None:
                    raise AssertionError(f"tensors {t} {span[t]} and {u} {span[u]} are live together and "
                                         f"overlap: {reason}")
    for b, off in zip(plan.buffers, plan.offsets):
        if not b.name.endswith(".scratch"):
            continue
        for t in tensors:
            if b.first <= life[t].last and life[t].first <= b.last and off < span[t][1] and span[t][0] < off + b.size:
                raise AssertionError(f"{b.name} [{off}, {off + b.size}) overlaps live tensor {t} {span[t]}")
