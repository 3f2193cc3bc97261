"""The C functions of a model's other subgraphs, and how a control-flow op's template reaches them.

Each subgraph the main graph runs becomes `static int tq_sg<k>(void)`, its ops' calls in the
file's order, returning 0, or what TFLM's invoke would fail with (an op's position + 1 in it, or
a negative early end that the caller passes on). Its tensors sit in the region of the arena the
calling op holds (tinyq/plan/subgraphs.py) at the region's offset plus their own; its state
tensors are the main graph's (their links). A subgraph run by two ops whose regions differ gets
one function per region (`tq_sg<k>_<n>`), each with the same code at other offsets.

A control-flow op's template reaches a callee through `k.callee(index)`: `.call` is the C call,
`.tensor(t)` a pointer to one of its tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.bind import BoundGraph
from tinyq.ops.control_flow import callees
from tinyq.plan import MemoryPlan
from tinyq.plan.subgraphs import region_offset


class PlacedPlan:
    """A subgraph's plan at its region: tensor and scratch offsets in the arena (what KernelView asks)."""

    def __init__(self, plan: MemoryPlan, base: int, links: dict[int, int], root: MemoryPlan):
        self.plan, self.base, self._links, self._root = plan, base, links, root
        self.arena_bytes = plan.arena_bytes

    def tensor_offset(self, tensor: int) -> int:
        if tensor in self._links:  # state: the main graph's bytes
            return self._root.tensor_offset(self._links[tensor])
        return self.base + self.plan.tensor_offset(tensor)

    def scratch_offset(self, op_position: int) -> int | None:
        offset = self.plan.scratch_offset(op_position)
        return None if offset is None else self.base + offset


@dataclass(frozen=True)
class Instance:
    """One C function of subgraph `subgraph`, its region at `base` in the arena."""

    subgraph: int
    base: int
    symbol: str
    plan: PlacedPlan


class CalleeView:
    """What a control-flow op's template sees of a subgraph it runs."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.call = f"{instance.symbol}()"
        self.symbol = instance.symbol

    def tensor(self, t: int) -> str:
        return f"(void *)(tq_arena + {self.instance.plan.tensor_offset(t)})"


@dataclass(frozen=True)
class Functions:
    """The subgraph functions to emit (callees first) and, per op that runs subgraphs, its callees:
    `calls[(instance symbol or "", position)][k]` (the main graph's ops under "")."""

    instances: tuple[Instance, ...]
    calls: dict[tuple[str, int], dict[int, CalleeView]]


def _graph(bound: BoundGraph, k: int) -> BoundGraph:
    return bound if k == 0 else bound.subgraphs[k - 1]


def subgraph_functions(bound: BoundGraph, plan: MemoryPlan) -> Functions:
    """Every (subgraph, region) the main graph reaches, as a function (module doc)."""
    if not bound.subgraphs:
        return Functions((), {})
    found: dict[tuple[int, int], Instance] = {}
    order: list[Instance] = []
    calls: dict[tuple[str, int], dict[int, CalleeView]] = {}
    count: dict[int, int] = {}

    def visit(k: int, graph_plan, symbol: str) -> None:
        graph = _graph(bound, k)
        for position, b in enumerate(graph.ops):
            called = callees(b.lowered.op)
            if not called:
                continue
            has_region = graph_plan.scratch_offset(position) is not None
            region = region_offset(graph_plan, graph, position) if has_region else 0  # 0 bytes: anywhere
            views = {}
            for callee in called:
                key = (callee, region)
                if key not in found:
                    sub = _graph(bound, callee)
                    count[callee] = count.get(callee, 0) + 1
                    placed = PlacedPlan(plan.subgraphs[callee - 1], region, dict(sub.lowered.shared_state), plan)
                    found[key] = Instance(callee, region, f"tq_sg{callee}_{count[callee]}", placed)
                    visit(callee, placed, found[key].symbol)
                    order.append(found[key])
                views[callee] = CalleeView(found[key])
            calls[(symbol, position)] = views

    visit(0, plan, "")
    single = {k for k, n in count.items() if n == 1}
    renamed = {i.symbol: f"tq_sg{i.subgraph}" for i in order if i.subgraph in single}
    instances = tuple(Instance(i.subgraph, i.base, renamed.get(i.symbol, i.symbol), i.plan) for i in order)
    by_old = {i.symbol: j for i, j in zip(order, instances)}
    calls = {(renamed.get(s, s), p): {k: CalleeView(by_old[v.symbol]) for k, v in views.items()}
             for (s, p), views in calls.items()}
    return Functions(instances, calls)
