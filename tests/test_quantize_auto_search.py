"""`--activations auto`'s search on long graphs: free moves taken in runs, lazily re-planned candidates, the
planner's quick estimate past FULL_PLAN_OPS, and the chosen model's full plan within the budget."""

import numpy as np

from conftest import assert_bit_exact
from tinyq.quantize import QuantizeConfig, activations, quantize_graph
from tinyq.quantize.activations import arena_bytes
from tinyq.quantize.auto import greedy_int16_units
from tinyq.tflite.builder import GraphBuilder


def test_free_moves_are_taken_in_runs_in_the_greedy_order():
    """Forty independent units, the arena growing only past thirty int16 ones: the greedy takes the thirty
    with the most noise, largest first, in far fewer plans than moves."""
    rng = np.random.default_rng(0)
    noise = list(rng.uniform(1, 100, 40))
    reads = {u: set() for u in range(40)}
    calls = []

    def arena_of(int16):
        calls.append(int16)
        return 1000 + 100 * max(0, len(int16) - 30)

    moves = greedy_int16_units(noise, reads, set(range(40)), 1000, arena_of, 1000)
    taken = [m.unit for m in moves]
    assert taken == sorted(range(40), key=lambda u: -noise[u])[:30]
    assert all(m.arena <= 1000 for m in moves)
    assert len(set(calls)) < len(moves), len(set(calls))  # one plan a move without the runs


def test_a_costly_move_waits_for_the_free_ones():
    """A unit that raises the arena ranks by noise per byte: after every free unit with a better ratio."""
    noise = [50.0, 10.0, 8.0, 1.0]
    reads = {u: set() for u in range(4)}
    moves = greedy_int16_units(noise, reads, {0, 1, 2, 3}, 2000, lambda s: 1000 + (400 if 0 in s else 0), 1000)
    assert [m.unit for m in moves] == [1, 2, 3, 0]


def gated_rnn(steps: int, width: int = 24, seed: int = 0):
    """An unrolled gated RNN of ~7 ops a step: a long graph for the quick estimate."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("gated")
    x = b.input((1, width), "float32")

    def act():
        return b.activation((1, width), "float32")

    def fc(v):
        out = act()
        b.op("fully_connected", [v, b.const((rng.normal(size=(width, width)) * 0.3).astype(np.float32)),
                                 b.const((rng.normal(size=width) * 0.1).astype(np.float32))], [out])
        return out

    h = fc(x)
    for _ in range(steps):
        s, t, g, y = act(), act(), act(), act()
        b.op("add", [fc(h), fc(x)], [s])
        b.op("tanh", [s], [t])
        b.op("logistic", [fc(t)], [g])
        b.op("mul", [t, g], [y])
        h = y
    return b.build([fc(h)]), rng.uniform(-1, 1, size=(48, width)).astype(np.float32)


def test_long_graph_auto_is_planned_in_full_within_the_budget(monkeypatch):
    graph, calib = gated_rnn(10)
    assert len(graph.operators) > activations.FULL_PLAN_OPS
    estimated = []
    real = activations.arena_bytes

    def counting(g, estimate=False):
        estimated.append(estimate)
        return real(g, estimate)

    monkeypatch.setattr(activations, "arena_bytes", counting)
    result = quantize_graph(graph, [calib], QuantizeConfig(activations="auto", self_check=False))
    plan = result.widths
    assert any(estimated) and not all(estimated)  # candidates estimated, the chosen model planned in full
    assert plan.int8_arena < plan.int16_arena
    assert arena_bytes(result.graph) == plan.arena <= plan.budget
    assert {"int8", "int16"} <= {result.graph.tensors[t].dtype for op in result.graph.operators for t in op.outputs}
    assert_bit_exact(result.graph, n_inputs=4)


def test_the_default_budget_is_one_auto_accepts():
    """Halfway between the arenas, but never under all-int8's: an int16 layout can plan smaller (bench graphs
    --ops all seed 9055, float-only ops between them: 1,440 B int8, 1,376 B int16), and the default was refused."""
    from tinyq.quantize.auto import check_budget, default_budget

    assert default_budget(1000, 3000) == 2000
    assert default_budget(1440, 1376) == 1440
    check_budget(default_budget(1440, 1376), 1440, 1376)
