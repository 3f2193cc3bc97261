"""A LOGISTIC/TANH input read by nothing else needs no range past where the op's output stops changing.

Found by `tinyq bench graphs` (a GELU on data reaching 1e4: its gate's input reached 2e11, every
value under 7e5 became 0, and the gate answered 0.5 for nearly every input: 8 dB at the output). The
range is cut at QuantRule.input_saturates, where the output is within half a step of its end, so the
answers past the cut are the ones the op gives there anyway, and the values before it get finer steps.
"""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.errors import TinyqError
from tinyq.ops.logistic_tanh import SATURATES_AT
from tinyq.quantize import quantize_graph
from tinyq.quantize.actparams import INT16_HEADROOM
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.report import sqnr_report
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"


def gated(op: str, gain: float, second_reader: bool = False):
    """y = op(fully_connected(x)) (and, optionally, its input as a second output): a sum of 64 products,
    finer than its range / 256, spread over about +-8 gain."""
    b = GraphBuilder(op)
    x = b.input((1, 64), F32)
    z = b.activation((1, 64), F32)
    weights = np.random.default_rng(1).normal(0, gain / 16, (64, 64)).astype(np.float32)
    b.op("fully_connected", [x, b.const(weights, F32), -1], [z])
    y = b.activation((1, 64), F32)
    b.op(op, [z], [y])
    return b.build([y, z] if second_reader else [y]), z


def _quantize(graph, activations, report=None):
    rng = np.random.default_rng(0)
    calib = [rng.uniform(-3, 3, (64, 64)).astype(np.float32)]
    result = quantize_graph(graph, calib, QuantizeConfig(activations=activations))
    test = rng.uniform(-3, 3, (16, 64)).astype(np.float32)
    rows = sqnr_report(result.float_graph, result.graph, [[r[None]] for r in test])
    if report is not None:
        report.extend(rows.rows)
    return result, rows.output_sqnr_db[0]


@pytest.mark.parametrize("activations, width", [("int8", 0), ("int16", 1)])
@pytest.mark.parametrize("op", ["logistic", "tanh"])
def test_an_input_only_the_op_reads_is_cut_where_it_saturates(op, activations, width):
    bound = SATURATES_AT[op][width][1]
    graph, z = gated(op, gain=10.0)  # the input spans about +-30 (int16: +-60 with its headroom)
    rows = []
    result, sqnr = _quantize(graph, activations, rows)
    lo, hi = result.activations[z].chosen
    assert -bound - 1e-3 <= lo and hi <= bound + 1e-3, (lo, hi)
    assert "saturate" in result.activations[z].reason
    assert_bit_exact(result.graph, n_inputs=12)
    # the report measures the cut input against float values cut alike (uncut, it would read 3-10 dB and be
    # flagged as a layer losing 20 dB to its inputs)
    assert next(r.sqnr_db for r in rows if r.float_tensor == z) > (25.0 if activations == "int8" else 35.0)
    # the same model with the input also a graph output keeps the whole range: the control
    kept_graph, _ = gated(op, gain=10.0, second_reader=True)
    kept, kept_sqnr = _quantize(kept_graph, activations)
    lo, hi = kept.activations[z].chosen
    assert hi > 2 * bound and lo < -2 * bound
    assert_bit_exact(kept.graph, n_inputs=12)
    # int8: the input's step falls from 0.24 to 0.06 (logistic) or 0.03 (tanh), measured +2.4 to +2.9 dB;
    # int16's step was already far below the weights' error: no loss
    assert sqnr >= kept_sqnr + (1.5 if activations == "int8" else -0.1), (sqnr, kept_sqnr)


def test_a_narrow_input_is_left_as_calibrated():
    graph, z = gated("logistic", gain=1.0)
    result, _ = _quantize(graph, "int8")
    assert "saturate" not in result.activations[z].reason


def test_an_int16_input_scale_tflm_cannot_hold_is_refused():
    """TFLM's int16 LOGISTIC/TANH multiply the input scale by 3 * 4096 into an int32: past 174763 its
    static_cast is undefined (x86 and Arm builds differ), so tinyq says so instead of guessing."""
    from tinyq.boards import get_board
    from tinyq.driver import compile_graph

    for op in ("logistic", "tanh"):
        b = GraphBuilder(op)
        x = b.input((1, 8), "int16", scale=2.0e5, zero_point=0)
        y = b.activation((1, 8), "int16", scale=1.0 / 32768, zero_point=0)
        b.op(op, [x], [y])
        with pytest.raises(TinyqError, match="overflow int32"):
            compile_graph(b.build([y]), get_board("host"))


@pytest.mark.parametrize("op, activations", [("relu6", "int8"), ("relu6", "int16"), ("relu", "int8")])
def test_an_input_only_a_clamp_reads_keeps_what_the_clamp_passes(op, activations):
    """Found by `tinyq bench graphs` (seed 2081: a RELU6 after a squared difference reaching 1e4: TFLM's
    RELU6 clamps in its input's parameters, shared with its output, and [0, 6] had no step left: 0 dB)."""
    graph, z = gated(op, gain=100.0)  # the input spans about +-300
    result, sqnr = _quantize(graph, activations)
    lo, hi = result.activations[z].chosen
    assert "saturate" in result.activations[z].reason
    if op == "relu6":  # int16: the output, in the same group, keeps its headroom
        edge = 6.0 * (INT16_HEADROOM if activations == "int16" else 1.0) + 1e-3
        assert -edge <= lo and hi <= edge, (lo, hi)
    else:  # one-sided: the negative half goes
        assert lo >= -1e-6 and hi > 100.0, (lo, hi)
    assert_bit_exact(result.graph, n_inputs=12)
    kept_graph, _ = gated(op, gain=100.0, second_reader=True)  # the input is a graph output too: the control
    kept, kept_sqnr = _quantize(kept_graph, activations)
    assert "saturate" not in kept.activations[z].reason
    assert_bit_exact(kept.graph, n_inputs=12)
    # measured: RELU6 int8 +2.5 dB (the control's RELU6 reads a requantized copy, the test below; tied, it was
    # +18 dB); RELU int8 +2 dB (the input's step halves, the output's stays); int16: the int8 weights' error was
    # already above the input's step: no gain, no loss
    gain = {("relu6", "int8"): 1.0, ("relu", "int8"): 1.0}.get((op, activations), -0.1)
    assert sqnr >= kept_sqnr + gain, (sqnr, kept_sqnr)


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_a_clamp_of_a_tensor_another_op_needs_whole_reads_a_copy(activations):
    """relu6(z) and z itself an output (bench graphs seed 2031: a RELU6 of a MUL reaching 1e4 that a
    FULLY_CONNECTED also reads, 0.0 -> 10.3 dB): z keeps its range; the RELU6, whose output TFLM writes at its
    input's parameters, reads a copy requantized to [0, 6]."""
    graph, z = gated("relu6", gain=100.0, second_reader=True)
    result, _ = _quantize(graph, activations)
    q = result.graph
    relu6 = next(o for o in q.operators if o.op == "relu6")
    copy = q.tensors[relu6.inputs[0]]
    assert copy.name.endswith("_requantized") and copy.quant == q.tensors[relu6.outputs[0]].quant
    lo, hi = result.activations[z].chosen
    assert hi > 100.0 and lo < -100.0
    y = result.float_graph.outputs[0]
    lo, hi = result.activations[y].chosen
    assert hi < 6.0 * INT16_HEADROOM + 1e-3 and lo > -6.0 * INT16_HEADROOM - 1e-3, (lo, hi)
    assert_bit_exact(q, n_inputs=12)
