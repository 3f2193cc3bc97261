"""`--activations auto`: int8 activations where they cost little, int16 for the layers that gain most.

Sensitivity: for each unit (widths.py), the float model runs with only that
unit's tensors rounded to their int8 parameters (a QUANTIZE/DEQUANTIZE pair
after each, in LiteRT), everything else float; its noise is the relative noise
power at the measure points (outputs and an output softmax's logits) it causes.
Noise powers of independent roundings add, so a layout's predicted noise is the
sum over the units that stay at 8 bits - a unit stored in int16 but read by an
int8 layer is rounded to 8 bits on that path all the same, so it counts until
every layer reading it is int16 too.

The choice is greedy: each step makes one more unit exact, moving it and the
layers that read it to int16 (or moves every remaining unit at once: a partly
int16 model can need more arena than an all-int16 one, for the copies its
QUANTIZE ops write), taking the move with the most noise removed per arena
byte added (each candidate model planned by tinyq's own planner) among those
that keep the arena within the budget, until no move removes noise or fits.
Candidates are planned lazily (a move is planned again only while the key of
its last plan could still beat the best) and with the planner's quick
estimate; the chosen model gets the full plan, and the last moves are undone
while that is over the budget. Layers whose int16 kernel tinyq (TFLM) lacks
stay int8, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import Graph, Operator, Quant, Tensor
from tinyq.passes.graph_edit import renumber_ops
from tinyq.quantize.actparams import ActivationChoice, activation_positions
from tinyq.quantize.data import CalibrationSet
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.selfcheck import measure_points
from tinyq.quantize.widths import Layout, Unit, plan_layout

SENSITIVITY_SAMPLES = 32
ALIGNMENT = 16  # arena bytes a free move is charged: free moves rank by the noise they remove


@dataclass(frozen=True)
class UnitSensitivity:
    unit: int
    name: str
    noise: float  # relative noise power at the measure points with only this unit at 8 bits

    @property
    def sqnr_db(self) -> float:
        return float("inf") if self.noise <= 0 else float(-10.0 * np.log10(self.noise))


def _fake_quant_graph(graph: Graph, unit: Unit, acts: dict[int, ActivationChoice]) -> tuple[Graph, dict[int, int]]:
    """The float graph with the unit's computed tensors rounded to their int8 parameters, and where each
    rounded tensor's value now lives (consumers and outputs read the rounded one)."""
    tensors = list(graph.tensors)
    moved: dict[int, int] = {}
    after: dict[int, list[Operator]] = {}  # position in the op list -> ops inserted after it (-1: first)
    producer = {t: pos for pos, op in enumerate(graph.operators) for t in op.outputs}
    for t in unit.tensors:
        base = graph.tensors[t]
        if base.is_const:
            continue
        quant: Quant = acts[t].quant
        q = Tensor(index=len(tensors), name=f"{base.name}_int8", dtype="int8", shape=base.shape, quant=quant)
        tensors.append(q)
        back = replace(base, index=len(tensors), name=f"{base.name}_rounded", shape_signature=None)
        tensors.append(back)
        moved[t] = back.index
        after.setdefault(producer.get(t, -1), []).extend([
            Operator(index=0, op="quantize", inputs=(t,), outputs=(q.index,), version=1),
            Operator(index=0, op="dequantize", inputs=(q.index,), outputs=(back.index,), version=2)])
    operators = list(after.get(-1, []))
    for pos, op in enumerate(graph.operators):
        operators.append(replace(op, inputs=tuple(moved.get(i, i) for i in op.inputs)))
        operators += after.get(pos, [])
    outputs = tuple(moved.get(t, t) for t in graph.outputs)
    return replace(graph, tensors=tuple(tensors), operators=renumber_ops(operators), outputs=outputs), moved


def unit_sensitivities(graph: Graph, units: tuple[Unit, ...], acts: dict[int, ActivationChoice],
                       calib: CalibrationSet, progress=None) -> list[UnitSensitivity]:
    records = calib.records(graph, SENSITIVITY_SAMPLES)
    points = measure_points(graph)
    reference = FloatRunner(graph)
    # one run per record: a stateful model (LSTM) carries its state from one run to the next, as the runs below do
    runs = [reference.run(r, points) for r in records]
    want = [[np.ravel(values[t]).astype(np.float64) for t in points] for values in runs]
    power = [sum(float(np.dot(w[k], w[k])) for w in want) for k in range(len(points))]
    result = []
    for n, unit in enumerate(units):
        rounded, moved = _fake_quant_graph(graph, unit, acts)
        runner = FloatRunner(rounded)
        where = [moved.get(t, t) for t in points]
        noise = [0.0] * len(points)
        for r, w in zip(records, want):
            got = runner.run(r, where)
            for k, t in enumerate(where):
                err = w[k] - np.ravel(got[t]).astype(np.float64)
                noise[k] += float(np.dot(err, err))
        relative = sum(e / p for e, p in zip(noise, power) if p > 0)
        result.append(UnitSensitivity(unit.index, unit.describe(graph), relative))
        if progress:
            progress(f"int8 activation sensitivity: {n + 1}/{len(units)} layers ({result[-1].name}: "
                     f"{result[-1].sqnr_db:.1f} dB)")
    return result


def readers(graph: Graph, units: tuple[Unit, ...]) -> dict[int, set[int]]:
    """unit -> the other units whose ops read one of its tensors."""
    unit_of_op = {op: u.index for u in units for op in u.ops}
    unit_of_tensor = {t: u.index for u in units for t in u.tensors}
    result: dict[int, set[int]] = {u.index: set() for u in units}
    for op in graph.operators:
        reader = unit_of_op.get(op.index)
        if reader is None:
            continue
        for p in activation_positions(graph, op):
            owner = unit_of_tensor.get(op.inputs[p])
            if owner is not None and owner != reader:
                result[owner].add(reader)
    return result


def predicted_noise(noise: list[float], reads: dict[int, set[int]], int16: frozenset[int]) -> float:
    """Summed noise of the units rounded to 8 bits somewhere: int8 ones and those an int8 layer reads."""
    return sum(n for u, n in enumerate(noise) if u not in int16 or not reads[u] <= int16)


@dataclass(frozen=True)
class Move:
    unit: int  # the unit made exact (the first of them, for the move to all eligible units)
    added: tuple[int, ...]  # units moved to int16 with it
    gain: float  # predicted noise removed
    arena: int  # the arena after it
    everything: bool = False  # every eligible unit at once


def greedy_int16_units(noise: list[float], reads: dict[int, set[int]], eligible: set[int], budget: int,
                       arena_of: Callable[[frozenset[int]], int | None], start_arena: int) -> list[Move]:
    """The moves, in the order taken (see the module docstring)."""
    chosen: frozenset[int] = frozenset()
    arena = start_arena
    moves: list[Move] = []
    added: dict[int, int] = {}  # candidate -> arena bytes its move added when last planned
    while True:
        now = predicted_noise(noise, reads, chosen)
        candidates = []
        for u in sorted(eligible) + [-1]:  # -1: every eligible unit
            needed = (({u} | reads[u]) if u >= 0 else set(eligible)) - chosen
            if needed and needed <= eligible:
                gain = now - predicted_noise(noise, reads, chosen | needed)
                if gain > 0:
                    # lazy greedy: ranked by the key its last plan gave (never planned: free); a move's cost
                    # seldom falls as the model grows, so one that cannot beat the best needs no new plan
                    candidates.append((gain / (max(added.get(u, 0), 0) + ALIGNMENT), gain, u, needed))
        best, best_key = None, None
        ranked = sorted(candidates, key=lambda c: -c[0])
        for bound, gain, u, needed in ranked:
            if best_key is not None and bound <= best_key:
                break
            cost = arena_of(chosen | needed)
            if cost is None:
                continue
            added[u] = cost - arena
            if cost > budget:
                continue
            key = gain / (max(cost - arena, 0) + ALIGNMENT)
            if best_key is None or key > best_key:
                best, best_key = Move(u if u >= 0 else min(needed), tuple(sorted(needed)), gain, cost, u < 0), key
        if best is None:
            return moves
        moves.append(best)
        free = best.arena <= arena
        chosen, arena = chosen | set(best.added), best.arena
        if free:
            chosen, arena = _free_run(ranked, best, chosen, arena, budget, arena_of, added, moves,
                                      lambda before, after: predicted_noise(noise, reads, before)
                                      - predicted_noise(noise, reads, after))


def _free_run(ranked, best: Move, chosen: frozenset[int], arena: int, budget: int,
              arena_of: Callable[[frozenset[int]], int | None], added: dict[int, int], moves: list[Move],
              gain_of: Callable[[frozenset[int], frozenset[int]], float]) -> tuple[frozenset[int], int]:
    """After a free move, the next candidates in rank order whose last plan was free too, taken in runs that
    double while one plan finds the run still free: the moves the greedy would take one plan each
    (hundreds in an unrolled RNN), in a few plans."""
    queue = [(gain, u, needed) for _, gain, u, needed in ranked if u != best.unit and u >= 0 and added.get(u, 0) <= 0]
    run = 2
    while queue:
        batch, queue = queue[:run], queue[run:]
        steps, taken = [], chosen
        for _, u, needed in batch:
            gain = gain_of(taken, taken | needed)
            if gain > 0:  # an earlier move of the run may have removed its noise already
                steps.append((u, tuple(sorted(needed - taken)), gain))
                taken = taken | needed
        if not steps:
            continue
        cost = arena_of(taken)
        if cost is None or cost > min(arena, budget):
            return chosen, arena  # the rest ranks again next step
        moves.extend(Move(u, units, gain, cost) for u, units, gain in steps)
        chosen, arena = taken, cost
        run *= 2
    return chosen, arena


@dataclass(frozen=True)
class UnitRow:
    unit: int
    name: str
    sqnr_db: float | None  # output SQNR with only this unit at 8 bits (None: not measured)
    dtype: str
    arena_added: int | None  # arena bytes its move to int16 added (None: stayed int8)
    why: str  # why it stayed int8, or how it came to int16


@dataclass(frozen=True)
class ActivationPlan:
    """What `--activations int16|auto` chose per layer, and the trade against all-int8 and all-int16."""

    mode: str
    rows: tuple[UnitRow, ...]
    arena: int | None  # of the chosen model (tinyq's planner, host reference kernels; None: tinyq cannot lower it)
    int8_arena: int | None
    int16_arena: int | None
    budget: int | None
    measured: tuple[tuple[str, float], ...] = ()  # (model, output SQNR dB on the check samples, TFLM)
    note: str = ""

    def with_measured(self, measured, note: str = "") -> "ActivationPlan":
        return replace(self, measured=tuple(measured), note=note or self.note)

    def describe(self) -> str:
        budget = f" of budget {self.budget:,} B" if self.budget is not None else ""
        int16 = sum(r.dtype == "int16" for r in self.rows)
        lines = [f"activations {self.mode}: {int16} of {len(self.rows)} layers int16, arena {_bytes(self.arena)}{budget} "
                 f"(all int8: {_bytes(self.int8_arena)}, all int16: {_bytes(self.int16_arena)}; tinyq's planner, host)"]
        if self.measured:
            lines.append("  output SQNR on the check samples (TFLM): "
                         + ", ".join(f"{name} {db:.1f} dB" for name, db in self.measured))
        if self.note:
            lines.append(f"  {self.note}")
        lines.append("  per layer: output SQNR with only its activations at 8 bits (float elsewhere), the width "
                     "chosen, arena added:")
        for r in self.rows:
            db = "     -" if r.sqnr_db is None else ("   inf" if r.sqnr_db == float("inf") else f"{r.sqnr_db:6.1f}")
            added = f"{r.arena_added:+,} B" if r.arena_added is not None else ""
            lines.append(f"    {r.name[:40]:<40} {db} dB  {r.dtype:<5} {added:>10}  {r.why}")
        return "\n".join(lines)


def _bytes(n: int | None) -> str:
    return "- (tinyq cannot lower it)" if n is None else f"{n:,} B"


def check_budget(budget: int, int8_arena: int, int16_arena: int) -> None:
    if budget < int8_arena:
        raise TinyqError(f"--budget-sram {budget:,} B is below the all-int8 arena {int8_arena:,} B "
                         f"(all int16: {int16_arena:,} B)", hint="raise the budget or use --activations int8")


def default_budget(int8_arena: int, int16_arena: int) -> int:
    """Halfway between the all-int8 and all-int16 arenas, and never below all-int8's: an int16 layout can plan
    smaller (float-only ops then need no int8 copies around them; bench graphs seed 9055: 1,440 B int8, 1,376 B
    int16), and the default must not be a budget --activations auto refuses."""
    return max(int8_arena, (int8_arena + int16_arena) // 2)


def layout_of(graph: Graph, units, int16: frozenset[int], io: str) -> Layout:
    return plan_layout(graph, units, ["int16" if u.index in int16 else "int8" for u in units], io)
