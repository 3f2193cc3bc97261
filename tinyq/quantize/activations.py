"""Choosing the activation width of every layer: `--activations int8 | int16 | auto`.

int8: every unit int8. int16 (TFLite's 16x8): every unit int16 whose ops tinyq
(and so TFLM) has int16 kernels for - the model is built all-int16, each op
tinyq cannot lower is moved back to int8 with the reason, until every op
lowers. auto: among those, the units auto.py picks under the SRAM budget.
Arenas are what tinyq's planner gives the quantized model on the host board's
reference kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph
from tinyq.quantize import auto
from tinyq.quantize.actparams import ActivationChoice, Ranges, activation_ranges, choose_activation_params
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.data import CalibrationSet
from tinyq.quantize.observers import TensorStats
from tinyq.quantize.rewrite import build_quantized_graph
from tinyq.quantize.widths import Layout, Unit, plan_layout

BOUNDARY_OPS = ("quantize", "dequantize")  # what the quantizer adds; a prepared float graph has none
PLAN_BOARD = "host"
# --activations auto plans each candidate model in full up to this many ops; past it (unrolled RNNs, hundreds
# of ops and of moves) with the planner's quick estimate, which can overshoot an in-place-heavy CNN's full plan
# by a few KB and so keep a layer int8 that would fit
FULL_PLAN_OPS = 64


def arena_bytes(graph: Graph, estimate: bool = False) -> int:
    """tinyq's plan of the quantized model on the host; `estimate`: a quick plan's (plan.memory.estimate_arena)."""
    from tinyq import driver
    from tinyq.boards import get_board
    from tinyq.plan.memory import estimate_arena

    bound = driver.front(graph, get_board(PLAN_BOARD))
    return estimate_arena(bound) if estimate else driver.plan(bound).arena_bytes


@dataclass(frozen=True, eq=False)
class WidthBuilder:
    """Builds the quantized model of a layout, for its support check and its arena (parameters by min/max)."""

    graph: Graph
    units: tuple[Unit, ...]
    stats: dict[int, TensorStats]
    weight_dtypes: dict[int, str]
    config: QuantizeConfig
    fallback: dict = field(default_factory=dict)  # float op -> its unit: run float when that unit is int16

    def layout(self, int16: frozenset[int] | set[int]) -> Layout:
        floats = frozenset(op for op, unit in self.fallback.items() if unit in int16)
        return plan_layout(self.graph, self.units, ["int16" if u.index in int16 else "int8" for u in self.units],
                           self.config.io, floats)

    @cached_property
    def ranges(self) -> Ranges:
        return activation_ranges(self.graph, self.stats, "minmax")

    def build(self, layout: Layout) -> Graph:
        config = replace(self.config, observer="minmax", bias_correction=False)
        acts = choose_activation_params(self.graph, self.stats, "minmax", layout, self.ranges)
        return build_quantized_graph(self.graph, acts, self.weight_dtypes, config, self.stats, layout)[0]

    def arena(self, int16, estimate: bool = False) -> int | None:
        """The layout's arena, or None when tinyq cannot lower it."""
        try:
            return arena_bytes(self.build(self.layout(int16)), estimate)
        except UnsupportedError:
            return None


def _refusal(graph: Graph, op) -> str | None:
    """Why tinyq cannot lower the op (what it says, without the hint), or None."""
    from tinyq.lower import lower_op

    try:
        lower_op(graph, op)
    except UnsupportedError as exc:
        return exc.what
    return None


def int16_capable(builder: WidthBuilder) -> tuple[set[int], dict[int, str], dict[int, int]]:
    """The units that can run int16, why each other one cannot (the first op tinyq refused), and, with
    --int16-fallback float, the ops that run float in an int16 unit (op -> unit) where tinyq runs them in float."""
    unit_of_op = {op: u.index for u in builder.units for op in u.ops}
    int16 = {u.index for u in builder.units}
    reasons: dict[int, str] = {}
    fallback: dict[int, int] = {}
    floats_allowed = builder.config.int16_fallback == "float"
    while True:
        current = replace(builder, fallback=fallback)
        qgraph = current.build(current.layout(int16))
        # the quantized graph's ops are the float graph's, in order, between the QUANTIZEs joining widths
        body = [op for op in qgraph.operators if op.op not in BOUNDARY_OPS]
        refused, floated = {}, {}
        for op, float_op in zip(body, builder.graph.operators):
            unit = unit_of_op.get(float_op.index)
            if unit in int16 and unit not in refused:
                why = _refusal(qgraph, op)
                if why and floats_allowed and _refusal(builder.graph, float_op) is None:
                    floated[float_op.index] = unit
                elif why:
                    refused[unit] = f"no int16 {float_op.op} here: {why}"
        if not refused and not floated:
            return int16, reasons, fallback
        int16 -= set(refused)
        reasons.update(refused)
        fallback = {op: unit for op, unit in {**fallback, **floated}.items() if unit in int16}


@dataclass(frozen=True, eq=False)
class WidthChoice:
    layout: Layout
    plan: auto.ActivationPlan | None
    int16_capable: frozenset[int]  # units with every op's int16 kernel (or its float one: --int16-fallback float)
    fallback: dict = field(default_factory=dict)  # float op -> unit: runs float when the unit is int16


def choose_widths(graph: Graph, units: tuple[Unit, ...], calib: CalibrationSet, config: QuantizeConfig,
                  acts8: dict[int, ActivationChoice], stats: dict[int, TensorStats], weight_dtypes: dict[int, str],
                  progress: Callable[[str], None] | None = None) -> WidthChoice:
    builder = WidthBuilder(graph, units, stats, weight_dtypes, config)
    if config.activations == "int8":
        return WidthChoice(builder.layout(set()), None, frozenset())
    capable, refused, fallback = int16_capable(builder)
    builder = replace(builder, fallback=fallback)
    int8_arena, int16_arena = builder.arena(set()), builder.arena(capable)  # None: an op tinyq cannot lower
    names = {u.index: u.describe(graph) for u in units}
    floated: dict[int, list[str]] = {}
    for op, unit in fallback.items():
        floated.setdefault(unit, []).append(f"op {op} {graph.operators[op].op} in float (no int16 kernel)")
    if config.activations == "int16":
        rows = tuple(auto.UnitRow(u.index, names[u.index], None, "int16" if u.index in capable else "int8", None,
                                  refused.get(u.index, "; ".join(floated.get(u.index, ())))) for u in units)
        plan = auto.ActivationPlan("int16", rows, int16_arena, int8_arena, int16_arena, None)
        return WidthChoice(builder.layout(capable), plan, frozenset(capable), fallback)

    choice = _auto(graph, units, calib, config, acts8, builder, capable, refused, int8_arena, int16_arena, progress)
    return replace(choice, fallback=fallback)


def _auto(graph: Graph, units: tuple[Unit, ...], calib: CalibrationSet, config: QuantizeConfig,
          acts8: dict[int, ActivationChoice], builder: WidthBuilder, capable: set[int], refused: dict[int, str],
          int8_arena: int, int16_arena: int, progress) -> WidthChoice:
    if int8_arena is None or int16_arena is None:
        raise UnsupportedError("--activations auto plans the arena of its candidate models with tinyq, which cannot "
                               "lower this one", where=graph.name, hint="--activations int16 or int8 need no plan")
    budget = config.sram_budget if config.sram_budget is not None else auto.default_budget(int8_arena, int16_arena)
    auto.check_budget(budget, int8_arena, int16_arena)
    sens = auto.unit_sensitivities(graph, units, acts8, calib, progress)
    noise = [s.noise for s in sens]
    reads = auto.readers(graph, units)
    cache: dict[frozenset[int], int | None] = {frozenset(): int8_arena}

    estimate = len(graph.operators) > FULL_PLAN_OPS

    def arena_of(int16: frozenset[int]) -> int | None:
        if int16 not in cache:
            cache[int16] = builder.arena(int16, estimate)
        return cache[int16]

    moves = auto.greedy_int16_units(noise, reads, capable, budget, arena_of, int8_arena)
    undone: dict[int, int | None] = {}  # unit -> the full plan's arena with the move that was undone
    while True:  # the chosen model's full plan, within the budget
        chosen = frozenset(u for m in moves for u in m.added)
        planned = builder.arena(chosen) if moves else int8_arena
        if planned is not None and planned <= budget:
            break
        undone.update((u, planned) for u in moves.pop().added)
    names = {u.index: u.describe(graph) for u in units}
    added: dict[int, int] = {}  # a move's arena bytes go to the unit it made exact
    why: dict[int, str] = dict(refused)
    arena = int8_arena
    for step, m in enumerate(moves, 1):
        owner = m.unit if m.unit in m.added else m.added[0]
        for u in m.added:
            added[u] = m.arena - arena if u == owner else 0
            if m.everything:
                why[u] = f"step {step}: every layer with an int16 kernel"
            else:
                why[u] = f"step {step}" if u == m.unit else f"step {step}: reads {names[m.unit]}"
        arena = m.arena
    arena = planned
    for u in capable - chosen:  # what moving it (and its readers) would do now
        after = chosen | {u} | reads[u]
        if not after <= capable:
            why[u] = "a layer reading it has no int16 kernel"
        elif auto.predicted_noise(noise, reads, chosen) <= auto.predicted_noise(noise, reads, after):
            why[u] = "int16 removes no noise here"
        else:
            cost = undone[u] if u in undone else arena_of(after)
            why[u] = "cannot be lowered in int16" if cost is None else f"over the budget: arena {cost:,} B"
    rows = tuple(auto.UnitRow(u.index, names[u.index], sens[u.index].sqnr_db, "int16" if u.index in chosen else "int8",
                              added.get(u.index), why.get(u.index, "")) for u in units)
    if progress:
        progress(f"activations auto: {len(chosen)} of {len(units)} layers int16, arena {arena:,} B of {budget:,} B")
    return WidthChoice(builder.layout(chosen), auto.ActivationPlan("auto", rows, arena, int8_arena, int16_arena, budget),
                       frozenset(capable))
