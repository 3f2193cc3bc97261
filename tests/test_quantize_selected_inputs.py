"""An input of SELECT_V2 / MAXIMUM / MINIMUM far wider than what the op passes on keeps its own parameters.

TFLM copies (or compares) these ops' stored integers, so their inputs and output must share parameters, and
tinyq tied them into one range. A branch reaching 1e4 that the select takes only where it is small (a guard's
fallback, a safe division's masked quotient) then left the values actually passed on a step of 40: random graph
seed 2110 (tinyq bench graphs) came out at -44.5 dB. Such an input is now requantized on the way in (a QUANTIZE
before the op) to the output's range."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.quantize import quantize_graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.report import sqnr_report
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"


def guarded(op: str, taken: bool):
    """op over x (about +-3) and a squared difference of two inputs (up to 1e4, negated for MAXIMUM). SELECT_V2
    takes the wide branch where x > 3.5 (never, on this data) or, with `taken`, where x > 0 (half the time);
    MAXIMUM/MINIMUM take it where it beats x, which only its small values do."""
    b = GraphBuilder(op)
    x, p, q = b.input((1, 64), F32), b.input((1, 64), F32), b.input((1, 64), F32)
    wide = b.activation((1, 64), F32)
    b.op("squared_difference", [p, q], [wide])
    if op == "maximum":
        negated = b.activation((1, 64), F32)
        b.op("mul", [wide, b.const(np.array([-1.0], np.float32), F32)], [negated])
        wide = negated
    y = b.activation((1, 64), F32)
    if op == "select_v2":
        cond = b.activation((1, 64), "bool")
        b.op("greater", [x, b.const(np.array([0.0 if taken else 3.5], np.float32), F32)], [cond])
        b.op("select_v2", [cond, wide, x], [y])
    else:
        b.op(op, [x, wide], [y])
    return b.build([y]), wide


def _data(n, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-3, 3, (n, 64)).astype(np.float32)] + [rng.uniform(-50, 50, (n, 64)).astype(np.float32)
                                                               for _ in range(2)]


@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("op", ["select_v2", "maximum", "minimum"])
def test_a_branch_far_wider_than_the_output_is_requantized(op, activations):
    graph, wide = guarded(op, taken=False)
    result = quantize_graph(graph, _data(64, 0), QuantizeConfig(activations=activations))
    q = result.graph
    out = q.outputs[0]
    reader = next(o for o in q.operators if o.op == op)
    assert result.activations[wide].quant != q.tensors[out].quant
    requantized = [t for t in reader.inputs if q.tensors[t].name.endswith("_requantized")]
    assert len(requantized) == 1 and q.tensors[requantized[0]].quant == q.tensors[out].quant
    lo, hi = result.activations[out].chosen
    assert hi - lo < 40.0, (lo, hi)  # tied, the output spanned 1e4
    assert_bit_exact(q, n_inputs=12)
    test = _data(16, 1)
    sqnr = sqnr_report(result.float_graph, q, [[t[i][None] for t in test] for i in range(16)]).output_sqnr_db[0]
    # tied, x sat on a step of 40 (about -20 dB). MAXIMUM/MINIMUM pass on the wide input's small values, which
    # keep its own step: measured 15 dB int8, 48 dB for the select that never takes it
    print(op, activations, sqnr)
    assert sqnr > (30.0 if op == "select_v2" else 10.0), sqnr


def test_a_branch_the_select_takes_stays_tied():
    """The wide branch is what the output holds half the time: tied. x, the narrow branch the comparison
    reads too, keeps its own grid and is requantized on its way in (test_quantize_narrow_ties.py)."""
    graph, wide = guarded("select_v2", taken=True)
    result = quantize_graph(graph, _data(64, 0))
    assert result.activations[wide].quant == result.graph.tensors[result.graph.outputs[0]].quant
    requantized = [t.name for t in result.graph.tensors if t.name.endswith("_requantized")]
    assert requantized == [result.graph.tensors[graph.inputs[0]].name + "_requantized"], requantized
    assert_bit_exact(result.graph, n_inputs=8)


def test_a_constant_fallback_the_select_never_takes_is_stored_saturated():
    """select(x > 3.5, c, x) with c a constant up to 1000 (bench graphs seed 5084 of the wider op set: -16.5 dB):
    the constant takes the output's parameters, saturated, so no op requantizes it at run time."""
    b = GraphBuilder("fallback")
    x = b.input((1, 64), F32)
    c = b.const(np.random.default_rng(3).uniform(-1000, 1000, (1, 64)).astype(np.float32), F32)
    cond = b.activation((1, 64), "bool")
    b.op("greater", [x, b.const(np.array([3.5], np.float32), F32)], [cond])
    y = b.activation((1, 64), F32)
    b.op("select_v2", [cond, c, x], [y])
    result = quantize_graph(b.build([y]), [_data(64, 0)[0]])
    q = result.graph
    assert not any(t.name.endswith("_requantized") for t in q.tensors)
    select = next(o for o in q.operators if o.op == "select_v2")
    assert q.tensors[select.inputs[1]].quant == q.tensors[q.outputs[0]].quant
    lo, hi = result.activations[y].chosen
    assert hi - lo < 10.0, (lo, hi)
    assert_bit_exact(q, n_inputs=12)
    test = _data(16, 1)[0]
    assert sqnr_report(result.float_graph, q, [[r[None]] for r in test]).output_sqnr_db[0] > 30.0


def test_a_branch_wider_than_what_a_relu6_after_the_select_keeps_is_requantized():
    """relu6(select(x > 0, x, -(p - q)^2)): the select's output reaches -1e4, but the RELU6 reading it keeps
    [0, 6] (bench graphs seed 7047: 11.1 -> 18.1 dB): the wide branch is measured against that."""
    b = GraphBuilder("relu6_select")
    x, p, q = b.input((1, 64), F32), b.input((1, 64), F32), b.input((1, 64), F32)
    sq, wide, cond, y, z = (b.activation((1, 64), t) for t in (F32, F32, "bool", F32, F32))
    b.op("squared_difference", [p, q], [sq])
    b.op("mul", [sq, b.const(np.array([-1.0], np.float32), F32)], [wide])
    b.op("greater", [x, b.const(np.array([0.0], np.float32), F32)], [cond])
    b.op("select_v2", [cond, x, wide], [y])
    b.op("relu6", [y], [z])
    result = quantize_graph(b.build([z]), _data(64, 0))
    assert result.activations[wide].quant != result.activations[y].quant
    lo, hi = result.activations[y].chosen
    assert hi - lo < 10.0, (lo, hi)
    assert_bit_exact(result.graph, n_inputs=12)
    test = _data(16, 1)
    sqnr = sqnr_report(result.float_graph, result.graph, [[t[i][None] for t in test] for i in range(16)])
    assert sqnr.output_sqnr_db[0] > 30.0, sqnr.output_sqnr_db  # tied: x on a step of 40
