"""Comparisons of data spanning 255 or more: TFLM's int8 comparison needs operand scales below 1 (it aborts
otherwise), and the quantizer gave such operands their own range, so quantize refused the model after
calibrating it (found by `tinyq bench graphs`). Each operand is now scaled by one power of two first
(quantize/comparisons.py): the same answers in float, and an int8 scale TFLM takes."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.quantize import quantize_graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.floatrun import FloatRunner
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"


def compare_select(op: str, spread: float, threshold: float | None = None):
    """select_v2(x <op> y, x, y) (or x <op> threshold), inputs about +-spread."""
    b = GraphBuilder(op)
    x = b.input((1, 32), F32)
    other = b.input((1, 32), F32) if threshold is None else b.const(np.array([threshold], np.float32), F32)
    cond = b.activation((1, 32), "bool")
    b.op(op, [x, other], [cond])
    y = b.activation((1, 32), F32)
    b.op("select_v2", [cond, x, b.input((1, 32), F32) if threshold is not None else other], [y])
    return b.build([y, cond])


def _calib(graph, spread, n=64, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n, 32)) * spread).astype(np.float32) for _ in graph.inputs]


@pytest.mark.parametrize("op", ["greater", "less_equal", "equal"])
@pytest.mark.parametrize("threshold", [None, 150.0])
@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_wide_operands_are_compared_after_a_power_of_two(op, threshold, activations):
    graph = compare_select(op, 400.0, threshold)
    result = quantize_graph(graph, _calib(graph, 400.0), QuantizeConfig(activations=activations))
    q = result.graph
    compare = next(o for o in q.operators if o.op == op)
    for t in compare.inputs:
        assert q.tensors[t].quant.s < 1.0, (t, q.tensors[t].quant.s)
    assert_bit_exact(q, n_inputs=12)
    # the answers are float's, but where an operand rounds across the threshold
    rng = np.random.default_rng(1)
    records = [[(rng.standard_normal((1, 32)) * 400).astype(np.float32) for _ in graph.inputs] for _ in range(8)]
    runner = FloatRunner(graph)
    from tinyq.golden import tflm_run
    from tinyq.quantize.report import quantize_inputs
    from tinyq.tflite.writer import write_model
    got = tflm_run(write_model(q), [quantize_inputs(q, r) for r in records])
    agree = np.mean([np.mean(np.asarray(g[1]).reshape(-1) == runner.run(r, [graph.outputs[1]])[graph.outputs[1]].reshape(-1))
                     for g, r in zip(got, records)])
    assert agree > (0.9 if op == "equal" else 0.97), agree


def test_narrow_operands_are_left_alone():
    graph = compare_select("greater", 10.0)
    result = quantize_graph(graph, _calib(graph, 10.0))
    assert len(result.graph.operators) == len(graph.operators)


def test_an_operand_tied_to_a_wider_tensor_is_scaled_too():
    """x > y with x and y within +-45, and x also a SELECT_V2 branch beside z within +-400: x shares the select's
    parameters, so its scale is the group's, over 1 unless the comparison reads a scaled copy."""
    b = GraphBuilder("tied")
    x, y, z = (b.input((1, 32), F32) for _ in range(3))
    cond = b.activation((1, 32), "bool")
    b.op("greater", [x, y], [cond])
    out = b.activation((1, 32), F32)
    b.op("select_v2", [cond, x, z], [out])
    graph = b.build([out])
    rng = np.random.default_rng(0)
    calib = [(rng.standard_normal((64, 32)) * s).astype(np.float32) for s in (12.0, 12.0, 130.0)]
    result = quantize_graph(graph, calib)
    compare = next(o for o in result.graph.operators if o.op == "greater")
    assert all(result.graph.tensors[t].quant.s < 1.0 for t in compare.inputs)
    assert_bit_exact(result.graph, n_inputs=8)
