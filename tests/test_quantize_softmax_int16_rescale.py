"""int16 SOFTMAX where TFLM's input rescale holds, float SOFTMAX where it wraps.

TFLM's int16 SOFTMAX shifts each input difference (down to -65535) left by its multiplier's shift in int32
before multiplying: past a shift of 15 (input scale x beta of 5 or more: attention scores of about 1e5 and
beyond) large differences wrap and count as near the row's maximum. An MHA on inputs of +-1e3 (the i16hunt
helper's mha_huge) measured 2.9 dB at int16 against 18.0 dB at int8. The quantizer keeps such a softmax float
between DEQUANTIZE and QUANTIZE."""

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_float_island
from tinyq.golden import tflm_run
from tinyq.ir import Operator, Quant
from tinyq.ops.softmax import SoftmaxOptions, int16_rescale_holds
from tinyq.quantize import quantize_graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.report import sqnr_report
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

F32 = "float32"
ROW = np.array([32767, -32768, -20000, 0, 32700, 100, -5000, 32767], np.int16)  # differences up to 65535 steps


@pytest.mark.parametrize("scale", [0.01, 1.0, 4.9, 5.1, 20.0, 150.0])
def test_the_rescale_rule_says_where_tflm_answers_garbage(scale):
    """An int16 row with differences up to 65535 steps through TFLM's SOFTMAX: probabilities off the exact
    softmax by more than 0.01 exactly where the rule says the rescale does not hold."""
    b = GraphBuilder("softmax")
    x = b.input((1, len(ROW)), "int16", scale=scale, zero_point=0)
    y = b.activation((1, len(ROW)), "int16", scale=1.0 / 32768, zero_point=0)
    b.op("softmax", [x], [y], SoftmaxOptions(beta=1.0))
    got = np.asarray(tflm_run(write_model(b.build([y])), [[ROW[None]]])[0][0]).ravel() / 32768.0
    z = ROW.astype(np.float64) * scale
    exact = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    garbage = bool(np.abs(got - exact).max() > 0.01)
    op = Operator(0, "softmax", (0,), (1,), SoftmaxOptions(beta=1.0))
    holds = int16_rescale_holds(op, "int16", (Quant((scale,), (0,)),), Quant((1.0 / 32768,), (0,)))
    assert holds != garbage, (scale, got, exact)
    assert int16_rescale_holds(op, "int8", (Quant((scale,), (0,)),), Quant((1.0 / 256,), (-128,)))


def scaled(op_name: str, spread: float, options=None, input_is_output: bool = False):
    """op(x * spread) over 16 values (x about N(0, 1)); with input_is_output the product is a graph output too,
    so its range is not cut where the op saturates."""
    b = GraphBuilder(f"scaled_{op_name}")
    x = b.input((1, 16), F32)
    s, out = b.activation((1, 16), F32), b.activation((1, 16), F32)
    b.op("mul", [x, b.const(np.array([spread], np.float32), F32)], [s])
    b.op(op_name, [s], [out], options)
    return b.build([out, s] if input_is_output else [out])


def scores(spread: float):
    """softmax(x * spread): the logits span about +-3 spread."""
    return scaled("softmax", spread, SoftmaxOptions(beta=1.0))


def normal_rows(n, seed):
    return [np.random.default_rng(seed).normal(0, 1, (n, 16)).astype(np.float32)]


def held_out_sqnr(result) -> float:
    """Output SQNR of a quantized `scaled` model (TFLM) against float on 16 rows calibration never saw."""
    test = normal_rows(16, 1)
    return sqnr_report(result.float_graph, result.graph, [[test[0][i][None]] for i in range(16)]).output_sqnr_db[0]


def test_scores_of_a_million_take_the_float_softmax():
    result = quantize_graph(scores(3e5), normal_rows(64, 0), QuantizeConfig(activations="int16"))
    assert_float_island(result.graph, "softmax")
    assert_bit_exact(result.graph, n_inputs=12)
    # one-hot rows: exact in float (measured 90 dB); TFLM's wrapped int16 rescale spread them over the largest
    # scores (0.6 dB), below int8's 15 dB
    assert held_out_sqnr(result) > 30.0


def test_auto_with_such_scores_is_bit_exact_and_at_least_int8():
    auto = quantize_graph(scores(3e5), normal_rows(64, 0), QuantizeConfig(activations="auto"))
    assert_bit_exact(auto.graph, n_inputs=12)
    int8 = quantize_graph(scores(3e5), normal_rows(64, 0), QuantizeConfig())
    assert held_out_sqnr(auto) >= held_out_sqnr(int8) - 0.05


def test_scores_within_the_rescale_stay_int16():
    result = quantize_graph(scores(2.0), normal_rows(64, 0), QuantizeConfig(activations="int16"))
    softmax = next(o for o in result.graph.operators if o.op == "softmax")
    assert all(result.graph.tensors[t].dtype == "int16" for t in softmax.inputs + softmax.outputs)
    assert_bit_exact(result.graph, n_inputs=12)
