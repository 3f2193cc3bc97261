"""Float models with ops TFLM runs in float32 only, and fixed-output ops feeding a concatenation: what
unseen Keras models taught the quantizer (the TFLite converter handles both)."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.golden import tflm_run
from tinyq.quantize import quantize_graph
from tinyq.quantize.activations import WidthBuilder
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.data import CalibrationSet
from tinyq.quantize.pipeline import calibrate
from tinyq.quantize.rules import FLOAT_ISLANDS, RULES
from tinyq.quantize.widths import activation_units
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

CALIB = np.random.default_rng(0).normal(0, 1, (64, 8)).astype(np.float32)
TEST = np.random.default_rng(1).normal(0, 1, (40, 8)).astype(np.float32)


def _fc(b, rng, x, n_in, n_out):
    y = b.activation((1, n_out), dtype="float32")
    b.op("fully_connected", [x, b.const(rng.normal(0, 0.4, (n_out, n_in)).astype(np.float32), "float32"),
                             b.const(rng.normal(0, 0.1, (n_out,)).astype(np.float32), "float32")], [y])
    return y


def island_graph(op: str):
    """FC -> `op` (a constant second operand for the binary ones) -> FC, and `op` -> `op` -> output too."""
    rng = np.random.default_rng(7)
    b = GraphBuilder(op)
    x = b.input((1, 8), dtype="float32")
    h = _fc(b, rng, x, 8, 8)
    if op in ("sqrt", "log"):  # their domain: a positive input
        a = b.activation((1, 8), dtype="float32")
        b.op("abs", [h], [a])
        h2 = b.activation((1, 8), dtype="float32")
        b.op("add", [a, b.const(np.full((8,), 0.5, np.float32), "float32")], [h2])
        h = h2
    extra = [b.const(np.full((1, 8), 0.75, np.float32), "float32")] if op in ("floor_div", "floor_mod") else []
    shape = (1, 8)
    y = b.activation(shape, dtype="float32")
    b.op(op, [h] + extra, [y])
    out = _fc(b, rng, y, 8, 4)
    return b.build([out])


@pytest.mark.parametrize("op", [o for o in FLOAT_ISLANDS if o != "l2_pool_2d"])
def test_an_op_tflm_runs_in_float_only_stays_float_between_conversions(op):
    result = quantize_graph(island_graph(op), [CALIB])
    q = result.graph
    kinds = [o.op for o in q.operators]
    at = kinds.index(op)
    assert kinds[at - 1] == "dequantize" and kinds[at + 1] == "quantize", kinds
    island = q.operators[at]
    assert all(q.tensors[t].dtype == "float32" for t in island.inputs + island.outputs)
    assert q.tensors[q.inputs[0]].dtype == "int8" and q.tensors[q.operators[-1].outputs[0]].dtype == "int8"
    assert_bit_exact(q, n_inputs=20)


def _fc_then(name: str, op: str, seed: int):
    """x -> FC -> op: the builder, its rng, the FC's output and the op's."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(name)
    h = _fc(b, rng, b.input((1, 8), dtype="float32"), 8, 8)
    y = b.activation((1, 8), dtype="float32")
    b.op(op, [h], [y])
    return b, rng, h, y


def concat_of_fixed_graph():
    """tanh (TFLM fixes its output at 1/128) concatenated with a branch that reaches +-20."""
    b, rng, h, t = _fc_then("concat_fixed", "tanh", 3)
    wide = b.activation((1, 8), dtype="float32")
    b.op("mul", [h, b.const(np.full((8,), 8.0, np.float32), "float32")], [wide])
    c = b.activation((1, 16), dtype="float32")
    b.op("concatenation", [t, wide], [c], axis=1)
    return b.build([_fc(b, rng, c, 16, 4)])


def _sqnr(graph, q_graph):
    ref = np.concatenate([tflm_run(write_model(graph), [[x[None]]])[0][0] for x in TEST])
    qin = q_graph.tensors[q_graph.inputs[0]].quant
    outs = []
    for x in TEST:
        xq = np.clip(np.round(x / qin.s) + qin.zp, -128, 127).astype(np.int8)[None]
        o = tflm_run(write_model(q_graph), [[xq]])[0][0]
        oq = q_graph.tensors[q_graph.outputs[0]].quant
        outs.append((o.astype(np.float64) - oq.zp) * oq.s)
    got = np.concatenate(outs)
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2))


def test_a_fixed_output_into_a_concatenation_is_requantized_not_clipping_the_others():
    graph = concat_of_fixed_graph()
    q = quantize_graph(graph, [CALIB]).graph
    concat = next(o for o in q.operators if o.op == "concatenation")
    tanh_out = next(o for o in q.operators if o.op == "tanh").outputs[0]
    assert q.tensors[tanh_out].quant.s == pytest.approx(1 / 128)  # TFLM's tanh keeps its parameters
    assert all(q.tensors[t].quant == q.tensors[concat.outputs[0]].quant for t in concat.inputs)
    assert [o.op for o in q.operators].count("quantize") == 1  # the tanh's requantize
    assert _sqnr(graph, q) > 20  # 25 dB here; sharing the tanh's 1/128 clips the wide branch at +-1
    assert_bit_exact(q, n_inputs=20)


def test_islands_and_requantizes_are_rules_of_the_table():
    assert all(RULES[o].float_island for o in FLOAT_ISLANDS)
    assert not any(r.float_island and (r.weights is not None or r.fixed_output) for r in RULES.values())


@pytest.mark.parametrize("op,bound", [("minimum", 1e12), ("maximum", -1e12)])
def test_a_clamp_bound_saturates_instead_of_setting_the_scale(op, bound):
    """Keras's UnitNormalization is x * minimum(rsqrt(sum(x^2)), 1e12): the bound shared the output's
    parameters, made them 1e12 / 255 a step, and the model neither ran in tinyq nor kept 12 dB."""
    rng = np.random.default_rng(5)
    b = GraphBuilder("clamp")
    x = b.input((1, 8), dtype="float32")
    h = _fc(b, rng, x, 8, 8)
    c = b.activation((1, 8), dtype="float32")
    b.op(op, [h, b.const(np.full((8,), bound, np.float32), "float32")], [c])
    graph = b.build([_fc(b, rng, c, 8, 4)])
    q = quantize_graph(graph, [CALIB]).graph
    clamp = next(o for o in q.operators if o.op == op)
    assert q.tensors[clamp.outputs[0]].quant.s < 0.1  # the data's range, not the bound's
    assert _sqnr(graph, q) > 25  # 29 dB; at the bound's scale every value rounds to one step
    assert_bit_exact(q, n_inputs=20)


def test_an_island_reading_the_other_width_dequantizes_it_as_it_is():
    """--activations auto on an unseen Keras model (channel attention, then a hand-made layer norm whose NEG
    read an int16 mean from an int8 unit): the layout gave the island an int8 copy, which the rewrite
    looked up in the float graph (an internal error). DEQUANTIZE reads int16 too: no copy, no rounding."""
    graph = island_graph("neg")
    stats = calibrate(graph, CalibrationSet((CALIB,)))
    units = activation_units(graph)
    first = next(u.index for u in units if 0 in u.ops)  # the FC before the island: int16, the rest int8
    builder = WidthBuilder(graph, units, stats, {}, QuantizeConfig(activations="auto"))
    q = builder.build(builder.layout({first}))
    neg = next(i for i, o in enumerate(q.operators) if o.op == "neg")
    dequantize = q.operators[neg - 1]
    assert dequantize.op == "dequantize" and q.tensors[dequantize.inputs[0]].dtype == "int16"
    assert q.tensors[q.operators[neg + 1].outputs[0]].dtype == "int8"
    assert_bit_exact(q, n_inputs=20)


@pytest.mark.parametrize("io", ["int", "float"])
def test_the_report_measures_an_output_a_float_only_op_computes(io):
    """The last op TFLM runs in float only: its float output pairs with no integer op of the same index,
    and the report printed 'output SQNR: nan dB' (tinyq bench graphs counted every such model as a lead)."""
    from tinyq.quantize.report import sqnr_report
    from tinyq.quantize.selfcheck import float_reference, point_sqnrs

    b, _, _, y = _fc_then("neg_last", "neg", 7)
    result = quantize_graph(b.build([y]), [CALIB], QuantizeConfig(io=io))
    records = [[r[None]] for r in TEST[:16]]
    reported = sqnr_report(result.float_graph, result.graph, records).output_sqnr_db[0]
    measured = point_sqnrs(result.graph, float_reference(result.float_graph, records))[0]
    assert np.isfinite(reported) and abs(reported - measured) < 1e-6 and reported > 25.0, (reported, measured)
