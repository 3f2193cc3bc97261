"""Execution orders: which topological orders of the ops the planner considers.

The file's op order is one valid order; when the graph branches (a ResNet
shortcut, several outputs) others exist, and running a branch that frees a big
tensor first can lower the peak. The planner scores candidate orders by the
lower bound they give after aliasing (memory.py), so this module only lists
them: every topological order while there are at most `limit` of them (depth
first, smallest op position first, so the file's order comes first), one
greedy order that always runs the ready op leaving the fewest bytes live, and
one demand-driven order that runs each op only when a reader needs it.
"""

from __future__ import annotations

from typing import Iterator

from tinyq.lower import LoweredGraph
from tinyq.plan.state import persistent_tensors


def predecessors(lowered: LoweredGraph) -> list[set[int]]:
    """preds[p]: positions of the ops whose outputs op p reads, and of the ops before it in the file
    that use a persistent tensor it uses (state is read and updated in place: READ_VARIABLE before
    ASSIGN_VARIABLE, CALL_ONCE's initial values before their first use)."""
    producer = {t: p for p, k in enumerate(lowered.ops) for t in k.outputs}
    preds = [{producer[t] for t in k.inputs if t in producer and producer[t] != p}
             for p, k in enumerate(lowered.ops)]
    for t in persistent_tensors(lowered):
        users = [p for p, k in enumerate(lowered.ops) if t in k.inputs or t in k.outputs]
        for before, after in zip(users, users[1:]):
            preds[after].add(before)
    return preds


def topological_orders(lowered: LoweredGraph, limit: int = 256) -> Iterator[tuple[int, ...]]:
    preds = predecessors(lowered)
    n = len(preds)
    succs: list[list[int]] = [[] for _ in range(n)]
    for p, ps in enumerate(preds):
        for q in ps:
            succs[q].append(p)
    waiting = [len(ps) for ps in preds]
    order: list[int] = []
    produced = [0]

    def walk() -> Iterator[tuple[int, ...]]:
        if len(order) == n:
            produced[0] += 1
            yield tuple(order)
            return
        for p in range(n):
            if produced[0] >= limit:
                return
            if waiting[p] != 0 or p in placed:
                continue
            placed.add(p)
            order.append(p)
            for s in succs[p]:
                waiting[s] -= 1
            yield from walk()
            for s in succs[p]:
                waiting[s] += 1
            order.pop()
            placed.discard(p)

    placed: set[int] = set()
    yield from walk()


def greedy_order(lowered: LoweredGraph) -> tuple[int, ...]:
    """Run, among the ready ops, the one after which the fewest activation bytes stay live.

    Kept incrementally (live bytes, each tensor's readers still to run, each op's inputs still to be
    written), so a step costs the ready ops' degrees, not a pass over the graph: unrolled RNNs have
    hundreds of ops, and --activations auto plans many candidates of them."""
    graph = lowered.graph
    preds = predecessors(lowered)
    n = len(lowered.ops)
    size = lambda t: graph.tensors[t].nbytes  # noqa: E731
    remaining: dict[int, int] = {}  # tensor -> ops reading it that have not run
    for k in lowered.ops:
        for t in set(k.inputs):
            remaining[t] = remaining.get(t, 0) + 1
    keep = set(graph.outputs)
    live = set(graph.inputs)
    live_bytes = sum(size(t) for t in live if t in keep or remaining.get(t, 0) > 0)
    waiting = [len(ps) for ps in preds]
    succs: list[list[int]] = [[] for _ in range(n)]
    for p, ps in enumerate(preds):
        for q in ps:
            succs[q].append(p)
    ready = {p for p in range(n) if waiting[p] == 0}

    def change(p: int) -> int:
        """Live bytes after op p runs, less those before."""
        freed = sum(size(t) for t in set(lowered.ops[p].inputs)
                    if t in live and t not in keep and remaining.get(t, 0) == 1)
        new = sum(size(t) for t in set(lowered.ops[p].outputs) - live
                  if t in keep or remaining.get(t, 0) - (t in lowered.ops[p].inputs) > 0)
        return new - freed

    order = []
    while ready:
        p = min(ready, key=lambda q: (change(q), q))
        live_bytes += change(p)
        ready.discard(p)
        order.append(p)
        for t in set(lowered.ops[p].inputs):
            remaining[t] -= 1
        live |= set(lowered.ops[p].outputs)
        for s in succs[p]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.add(s)
    return tuple(order)


def demand_order(lowered: LoweredGraph) -> tuple[int, ...]:
    """Depth first from the outputs, each op's deepest input first: a cheap op feeding a long chain (an
    unrolled RNN's input projection for step k, which converters hoist to the top) then runs just before
    its reader, not at the top holding its result through every earlier step; a greedy choice among
    ready ops cannot see that, as every projection adds the same bytes."""
    preds = predecessors(lowered)
    depth: list[int] = []
    for ps in preds:  # the file's order is topological
        depth.append(1 + max((depth[q] for q in ps), default=0))
    producer = {t: p for p, k in enumerate(lowered.ops) for t in k.outputs}
    roots = [producer[t] for t in lowered.graph.outputs if t in producer] + list(range(len(preds)))
    done: set[int] = set()
    order: list[int] = []
    for root in roots:
        stack = [(root, False)]
        while stack:
            p, expanded = stack.pop()
            if p in done:
                continue
            if expanded:
                done.add(p)
                order.append(p)
                continue
            stack.append((p, True))
            # pushed shallowest first, so the deepest input is expanded first
            stack.extend((q, False) for q in sorted(preds[p], key=lambda q: (depth[q], -q)) if q not in done)
    return tuple(order)


def candidate_orders(lowered: LoweredGraph, limit: int = 256) -> list[tuple[int, ...]]:
    orders = list(topological_orders(lowered, limit))
    for extra in (greedy_order(lowered), demand_order(lowered)):
        if extra not in orders:
            orders.append(extra)
    return orders
