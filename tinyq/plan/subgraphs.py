"""Memory for the model's other subgraphs: each planned on its own, inside the region of the op
that runs it.

An op that runs subgraphs (WHILE, IF, CALL_ONCE) holds, while it runs, one region of the arena
as large as the largest of its callees' plans (WHILE's cond and body never hold live tensors at
the same time: it reads cond's answer before it copies into the body): the planner sees that
region as the op's scratch, live at the op's step only, so it overlaps the caller's dead tensors
and never a live one (plan/verify.py proves it, as for any scratch). Each subgraph is planned like
a graph of its own (its inputs live from the start, its outputs to the end, its ops in the file's
order), callees before callers, and its tensors sit at the region's start plus their offset.
A subgraph's state (the variable tensors linked to the main graph's, passes/subgraph_state.py)
is not in its plan: it lives in the main graph's state region, which no region overlaps.
`verify_calls` proves the composition: every region holds its callees' plans, and every linked
tensor is one of the main graph's persistent tensors.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from tinyq.bind import BoundGraph
from tinyq.lower import LoweredGraph
from tinyq.ops.control_flow import callees

if TYPE_CHECKING:
    from tinyq.plan.memory import MemoryPlan


def call_order(bound: BoundGraph) -> list[int]:
    """Subgraph indices, each after every subgraph it runs (lowering refused recursion)."""
    order: list[int] = []

    def visit(k: int) -> None:
        if k in order:
            return
        for op in bound.subgraphs[k - 1].graph.operators:
            for callee in callees(op):
                visit(callee)
        order.append(k)

    for k in range(1, len(bound.subgraphs) + 1):
        visit(k)
    return order


def planning_view(sub: BoundGraph) -> BoundGraph:
    """What the planner sees of a subgraph: its linked state tensors dropped from the ops' inputs
    (they are the main graph's bytes). They come last in every op that has an in-place rule."""
    linked = {t for t, _ in sub.lowered.shared_state}
    if not linked:
        return sub
    ops = []
    for k, b in zip(sub.lowered.ops, sub.ops):
        kept = tuple(t for t in k.inputs if t not in linked)
        assert b.inplace is None or k.inputs[:len(kept)] == kept, "linked state amid an in-place op's inputs"
        ops.append(replace(k, inputs=kept) if len(kept) != len(k.inputs) else k)
    return replace(sub, lowered=LoweredGraph(graph=sub.lowered.graph, ops=tuple(ops)))


def region_bytes(graph: BoundGraph, plans: dict[int, "MemoryPlan"]) -> tuple[int, ...]:
    """Per op of `graph`: the bytes of the region its callees run in (0 for other ops)."""
    return tuple(max((plans[k].arena_bytes for k in callees(b.lowered.op)), default=0) for b in graph.ops)


def plan_subgraphs(bound: BoundGraph, plan_one: Callable[..., "MemoryPlan"]) -> tuple["MemoryPlan", ...]:
    """Every subgraph's plan (subgraph k at k - 1), offsets from its region's start.
    `plan_one(bound, regions=...)` plans one graph in the file's order (plan_memory)."""
    plans: dict[int, MemoryPlan] = {}
    for k in call_order(bound):
        sub = bound.subgraphs[k - 1]
        plans[k] = plan_one(planning_view(sub), regions=region_bytes(sub, plans))
    return tuple(plans[k] for k in range(1, len(bound.subgraphs) + 1))


def region_offset(plan: "MemoryPlan", graph: BoundGraph, position: int) -> int:
    """Where op `position`'s callees start in the arena of `plan`: past the kernel's own scratch."""
    start = plan.scratch_offset(position)
    assert start is not None, f"op {position} runs subgraphs but has no region"
    return start + graph.ops[position].scratch_bytes
