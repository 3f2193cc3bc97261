"""plan_memory: execution order, aliasing and offsets for one arena, proven safe.

1. Facts from the bound graph (tinyq/bind.py): the in-place rule of the kernel
   that runs each op and the scratch it needs on the board's target: the arena
   is exact, never found by trial.
2. Candidate execution orders (order.py). For each: tensor lifetimes
   (buffers.py), views and in-place options (aliasing.py), buffers, the pairs
   that may overlap, and the lower bound = max over steps of the bytes that
   must be live at that step (an overlapping pair counted as its least union).
3. The orders with the lowest bound get every offset strategy (strategies.py),
   plus the exact search when the heuristics miss the bound on a small graph.
4. The smallest arena wins; `strategies.verify` (buffers) and
   `verify.verify_tensors` (every pair of tensors) prove it before it is returned.
   The in-place options the winning offsets use become `Alias` records.

A model with several subgraphs plans each of them first (subgraphs.py), in the region of the
arena the op running it holds as scratch (`regions`); `verify.verify_calls` proves the whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tinyq.bind import BoundGraph
from tinyq.lower import LoweredGraph
from tinyq.ops.base import InPlace
from tinyq.plan.aliasing import Alias, InPlaceOption, views_and_options
from tinyq.plan.buffers import (Buffer, activation_sizes, align_up, aligned_lower_bound, group_buffers,
                                lower_bound, scratch_buffers, tensor_lifetimes)
from tinyq.plan.order import candidate_orders, demand_order, greedy_order
from tinyq.plan.strategies import HEURISTICS, arena_of, exact, pair_moves, place, verify
from tinyq.plan.verify import verify_calls, verify_tensors

EXACT_MAX_BUFFERS = 24  # the exact search runs on graphs with at most this many buffers
ORDERS_PLANNED = 3  # how many of the best-scoring orders get every strategy
ORDER_LIMIT = 64  # topological orders scored (an eighth of that past 40 ops: each costs a layout)


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    lower_bound_bytes: int  # max over steps of the bytes that must be live then, under `order` and aliasing
    buffers: tuple[Buffer, ...]
    offsets: tuple[int, ...]  # offsets[i] belongs to buffers[i]
    strategy: str = "greedy-by-size"
    order: tuple[int, ...] = ()  # op positions in execution order; empty: the file's order
    aliases: tuple[Alias, ...] = ()  # views, and the in-place overlaps the offsets use
    candidates: tuple[tuple[str, int], ...] = ()  # (strategy, arena bytes) of every strategy tried
    proven_optimal: bool = False  # no smaller arena for this order and these options (bound met or exact search)
    baseline_lower_bound_bytes: int = 0  # the bound in file order with views only (no in-place, no reorder)
    alignment: int = 16
    scratch: tuple[int, ...] = ()  # scratch bytes of each op (by position)
    overlaps: tuple[tuple[int, int, int], ...] = ()  # (below, above, gap): buffer pairs allowed to overlap
    subgraphs: tuple["MemoryPlan", ...] = ()  # the model's subgraphs 1, 2, ...: offsets from their region

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

    def overlap_map(self) -> dict[tuple[int, int], int]:
        return {(below, above): gap for below, above, gap in self.overlaps}


@dataclass(frozen=True)
class Layout:
    """Buffers for one execution order, before offsets."""

    order: tuple[int, ...]
    views: tuple[Alias, ...]
    options: tuple[InPlaceOption, ...]
    buffers: tuple[Buffer, ...]
    overlaps: dict[tuple[int, int], int]  # (below, above) buffer indices -> gap
    bound: int


def _buffer_of(buffers: Sequence[Buffer]) -> dict[int, int]:
    return {t: i for i, b in enumerate(buffers) for t in b.tensors}


def layout(lowered: LoweredGraph, order: Sequence[int], rules: Sequence[InPlace | None], scratch: Sequence[int],
           alignment: int = 16, in_place: bool = True, shifts: dict | None = None,
           sizes: dict[int, int] | None = None) -> Layout:
    lifetimes = tensor_lifetimes(lowered, order, sizes)
    views, owner, options = views_and_options(lowered, order, lifetimes, rules, alignment, in_place, shifts)
    buffers = group_buffers(lifetimes, owner, alignment) + \
        scratch_buffers(scratch, order, alignment)
    index = _buffer_of(buffers)
    overlaps = {(index[o.tensor], index[o.base]): o.shift for o in options}
    return Layout(tuple(order), views, options, tuple(buffers), overlaps, lower_bound(buffers, overlaps))


def place_buffers(buffers: Sequence[Buffer], alignment: int = 16, exact_budget: int = 5000,
                  strategies: Sequence[str] | None = None, overlaps: dict | None = None
                  ) -> tuple[str, list[int], list[tuple[str, int]], bool]:
    """(winning strategy, offsets, every strategy's aligned arena, proven optimal) for one set of buffers.

    Arenas are compared after rounding up to the alignment: bytes below it buy nothing."""
    overlaps = overlaps or {}
    bound = align_up(aligned_lower_bound(buffers, overlaps), alignment)
    results = []
    for name in strategies or HEURISTICS:
        sequence, fit = HEURISTICS[name]
        offsets = place(buffers, sequence(buffers), fit, overlaps)
        verify(buffers, offsets, overlaps)
        results.append((align_up(arena_of(buffers, offsets), alignment), name, offsets))
    if overlaps and min(r[0] for r in results) > bound:
        for _, name, _ in sorted(results, key=lambda r: r[0])[:2]:
            sequence, fit = HEURISTICS[name]
            _, offsets = pair_moves(buffers, overlaps, sequence(buffers), fit)
            verify(buffers, offsets, overlaps)
            results.append((align_up(arena_of(buffers, offsets), alignment), f"{name}+pair-moves", offsets))
    arena, name, offsets = min(results, key=lambda r: r[0])
    proven = arena <= bound
    if not proven and len(buffers) <= EXACT_MAX_BUFFERS and exact_budget > 0:
        found, proven = exact(buffers, arena - alignment + 1, exact_budget, overlaps)  # only a smaller aligned arena
        if found is not None:
            verify(buffers, found, overlaps)
            results.append((align_up(arena_of(buffers, found), alignment), "exact", found))
            arena, name, offsets = results[-1]
    return name, offsets, [(n, a) for a, n, _ in results], proven


def used_in_place(lay: Layout, offsets: Sequence[int]) -> tuple[Alias, ...]:
    """The in-place options whose output ended up overlapping its input."""
    index = _buffer_of(lay.buffers)
    used = []
    for o in lay.options:
        y, x = index[o.tensor], index[o.base]
        oy, ox = offsets[y], offsets[x]
        if oy < ox + lay.buffers[x].size and ox < oy + lay.buffers[y].size:
            used.append(Alias(o.tensor, o.base, ox - oy, "in-place", o.position))
    return tuple(used)


def estimate_arena(bound: BoundGraph, alignment: int = 16) -> int:
    """The arena of a quick plan, for searches that compare many candidate models (--activations auto):
    the best-scoring of the file's, the greedy and the demand order, every strategy, no pair moves and no
    exact search. Several times faster than plan_memory on long graphs and at or a few alignment units
    above it on the layouts measured; not a plan: nothing checks or keeps its offsets. A model with
    subgraphs gets the full plan."""
    if bound.subgraphs:
        return plan_memory(bound, alignment).arena_bytes
    lowered = bound.lowered
    rules = tuple(b.inplace for b in bound.ops)
    scratch = tuple(b.scratch_bytes for b in bound.ops)
    sizes = activation_sizes(lowered)
    orders = {tuple(range(len(lowered.ops))), greedy_order(lowered), demand_order(lowered)}
    lay = min((layout(lowered, o, rules, scratch, alignment, True, {}, sizes) for o in orders),
              key=lambda lay: lay.bound)
    return min(align_up(arena_of(lay.buffers, place(lay.buffers, sequence(lay.buffers), fit, lay.overlaps)), alignment)
               for sequence, fit in HEURISTICS.values())


def plan_memory(bound: BoundGraph, alignment: int = 16, *, reorder: bool = True,
                in_place: bool = True, strategies: Sequence[str] | None = None,
                exact_budget: int = 5000, regions: Sequence[int] | None = None) -> MemoryPlan:
    """The smallest verified plan over candidate orders, aliasing and strategies. `regions[p]`: the
    bytes op p holds beyond its kernel's scratch for the subgraphs it runs (computed here for the
    main graph of a model with subgraphs)."""
    lowered = bound.lowered
    subgraphs: tuple[MemoryPlan, ...] = ()
    if bound.subgraphs:
        from tinyq.plan.subgraphs import plan_subgraphs, region_bytes

        subgraphs = plan_subgraphs(bound, lambda sub, regions: plan_memory(
            sub, alignment, reorder=False, in_place=in_place, strategies=strategies, exact_budget=exact_budget,
            regions=regions))
        regions = region_bytes(bound, dict(enumerate(subgraphs, start=1)))
    rules = tuple(b.inplace for b in bound.ops)
    scratch = tuple(b.scratch_bytes + (regions[p] if regions else 0) for p, b in enumerate(bound.ops))
    n = len(lowered.ops)
    file_order = tuple(range(n))
    baseline = layout(lowered, file_order, rules, scratch, alignment, in_place=False)
    orders = candidate_orders(lowered, ORDER_LIMIT if n <= 40 else ORDER_LIMIT // 8) if reorder else [file_order]
    shifts: dict = {}
    sizes = activation_sizes(lowered)
    scored = sorted((layout(lowered, o, rules, scratch, alignment, in_place, shifts, sizes) for o in orders),
                    key=lambda lay: lay.bound)  # stable: the file's order wins ties
    best = None
    for rank, lay in enumerate(scored[:ORDERS_PLANNED]):
        if best is not None and (best[5] or align_up(lay.bound, alignment) >= best[0]):
            break  # proven optimal, or this order cannot beat it
        # the exact search only for the best-scoring order: it is the slow part
        name, offsets, tried, proven = place_buffers(lay.buffers, alignment, exact_budget if rank == 0 else 0,
                                                     strategies, lay.overlaps)
        arena = align_up(arena_of(lay.buffers, offsets), alignment)
        if best is None or arena < best[0]:
            best = (arena, lay, name, offsets, tried, proven)
    arena, lay, name, offsets, tried, proven = best
    plan = MemoryPlan(
        arena_bytes=arena, lower_bound_bytes=lay.bound, buffers=lay.buffers, offsets=tuple(offsets),
        strategy=name, order=lay.order if lay.order != file_order else (),
        aliases=lay.views + used_in_place(lay, offsets), candidates=tuple(tried), proven_optimal=proven,
        baseline_lower_bound_bytes=baseline.bound, alignment=alignment, scratch=scratch,
        overlaps=tuple((b, a, g) for (b, a), g in sorted(lay.overlaps.items())), subgraphs=subgraphs)
    verify(plan.buffers, plan.offsets, lay.overlaps)
    verify_tensors(lowered, plan, rules)
    if subgraphs:
        verify_calls(bound, plan)
    return plan
