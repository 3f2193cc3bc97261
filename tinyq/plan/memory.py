"""plan_memory: execution order, aliasing and offsets for one arena, proven safe.

1. Facts from the backend: which implementation runs each op (in-place rules
   are per implementation) and how much scratch it needs on the board's target
   (`KernelChoice.scratch_bytes`): the arena is exact, never found by trial.
2. Candidate execution orders (order.py). For each: tensor lifetimes
   (buffers.py), views and in-place outputs (aliasing.py), buffers, and the
   lower bound = max over steps of the bytes live at that step.
3. The orders with the lowest bound get every offset strategy (strategies.py),
   plus the exact search when the heuristics miss the bound on a small graph.
4. The smallest arena wins; `strategies.verify` (buffers) and
   `verify.verify_tensors` (every pair of tensors) prove it before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tinyq.lower import LoweredGraph
from tinyq.plan.aliasing import Alias, choose_aliases
from tinyq.plan.buffers import (Buffer, align_up, aligned_lower_bound, group_buffers, lower_bound,
                                scratch_buffers, tensor_lifetimes)
from tinyq.plan.order import candidate_orders
from tinyq.plan.strategies import HEURISTICS, arena_of, exact, run_heuristic, verify
from tinyq.plan.verify import verify_tensors

EXACT_MAX_BUFFERS = 24  # the exact search runs on graphs with at most this many buffers
ORDERS_PLANNED = 3  # how many of the best-scoring orders get every strategy


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    lower_bound_bytes: int  # max over steps of the bytes live then, under `order` and `aliases`
    buffers: tuple[Buffer, ...]
    offsets: tuple[int, ...]  # offsets[i] belongs to buffers[i]
    strategy: str = "greedy-by-size"
    order: tuple[int, ...] = ()  # op positions in execution order; empty: the file's order
    aliases: tuple[Alias, ...] = ()
    candidates: tuple[tuple[str, int], ...] = ()  # (strategy, arena bytes) of every strategy tried
    proven_optimal: bool = False  # arena == bound, or the exact search finished
    baseline_lower_bound_bytes: int = 0  # the bound in file order with views only (no in-place, no reorder)
    alignment: int = 16
    backends: tuple[str, ...] = ()  # backend running each op (by position)
    scratch: tuple[int, ...] = ()  # scratch bytes of each op (by position)

    def tensor_offset(self, tensor: int) -> int:
        for buf, off in zip(self.buffers, self.offsets):
            if tensor in buf.tensors:
                return off + buf.place_of(tensor)
        raise KeyError(f"tensor {tensor} has no buffer in the plan")

    def scratch_offset(self, op_position: int) -> int | None:
        name = f"op{op_position}.scratch"
        for buf, off in zip(self.buffers, self.offsets):
            if buf.name == name:
                return off
        return None

    def execution_order(self, n_ops: int) -> tuple[int, ...]:
        """Op positions in the order the generated code runs them."""
        return self.order if self.order else tuple(range(n_ops))


@dataclass(frozen=True)
class Layout:
    """Buffers for one execution order, before offsets."""

    order: tuple[int, ...]
    aliases: tuple[Alias, ...]
    buffers: tuple[Buffer, ...]
    bound: int


def kernel_facts(lowered: LoweredGraph, backend=None) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(backend name, scratch bytes) of each op, as the code generator will choose them."""
    from tinyq.backends import REFERENCE, choose_kernels

    choices = choose_kernels(backend or REFERENCE, lowered.ops)
    return tuple(c.backend for c in choices), tuple(c.scratch_bytes for c in choices)


def layout(lowered: LoweredGraph, order: Sequence[int], backends: Sequence[str], scratch: Sequence[int],
           alignment: int = 16, in_place: bool = True) -> Layout:
    lifetimes = tensor_lifetimes(lowered, order)
    aliases, places = choose_aliases(lowered, order, lifetimes, backends, alignment, in_place)
    buffers = group_buffers(lifetimes, places, alignment) + scratch_buffers(scratch, order, alignment)
    return Layout(tuple(order), aliases, tuple(buffers), lower_bound(buffers))


def place_buffers(buffers: Sequence[Buffer], alignment: int = 16, exact_budget: int = 5000,
                  strategies: Sequence[str] | None = None) -> tuple[str, list[int], list[tuple[str, int]], bool]:
    """(winning strategy, offsets, every strategy's aligned arena, proven optimal) for one set of buffers.

    Arenas are compared after rounding up to the alignment: bytes below it buy nothing."""
    bound = align_up(aligned_lower_bound(buffers), alignment)
    results = []
    for name in strategies or HEURISTICS:
        offsets = run_heuristic(name, buffers)
        verify(buffers, offsets)
        results.append((align_up(arena_of(buffers, offsets), alignment), name, offsets))
    arena, name, offsets = min(results, key=lambda r: r[0])
    proven = arena <= bound
    if not proven and len(buffers) <= EXACT_MAX_BUFFERS and exact_budget > 0:
        found, proven = exact(buffers, arena - alignment + 1, exact_budget)  # only a smaller aligned arena counts
        if found is not None:
            verify(buffers, found)
            results.append((align_up(arena_of(buffers, found), alignment), "exact", found))
            arena, name, offsets = results[-1]
    return name, offsets, [(n, a) for a, n, _ in results], proven


def plan_memory(lowered: LoweredGraph, alignment: int = 16, backend=None, *, reorder: bool = True,
                in_place: bool = True, strategies: Sequence[str] | None = None,
                exact_budget: int = 5000) -> MemoryPlan:
    """The smallest verified plan over candidate orders, aliasing and strategies."""
    backends, scratch = kernel_facts(lowered, backend)
    n = len(lowered.ops)
    file_order = tuple(range(n))
    baseline = layout(lowered, file_order, backends, scratch, alignment, in_place=False)
    orders = candidate_orders(lowered) if reorder else [file_order]
    scored = sorted((layout(lowered, o, backends, scratch, alignment, in_place) for o in orders),
                    key=lambda lay: lay.bound)  # stable: the file's order wins ties
    best = None
    for lay in scored[:ORDERS_PLANNED]:
        name, offsets, tried, proven = place_buffers(lay.buffers, alignment, exact_budget, strategies)
        arena = align_up(arena_of(lay.buffers, offsets), alignment)
        if best is None or arena < best[0]:
            best = (arena, lay, name, offsets, tried, proven)
    arena, lay, name, offsets, tried, proven = best
    plan = MemoryPlan(
        arena_bytes=arena, lower_bound_bytes=lay.bound, buffers=lay.buffers, offsets=tuple(offsets),
        strategy=name, order=lay.order if lay.order != file_order else (), aliases=lay.aliases,
        candidates=tuple(tried), proven_optimal=proven, baseline_lower_bound_bytes=baseline.bound,
        alignment=alignment, backends=backends, scratch=scratch)
    verify(plan.buffers, plan.offsets)
    verify_tensors(lowered, plan, backends)
    return plan
