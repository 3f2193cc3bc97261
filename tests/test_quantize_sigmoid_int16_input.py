"""int16 LOGISTIC/TANH where TFLM's input rescale holds, float LOGISTIC/TANH where it wraps.

TFLM's int16 LOGISTIC and TANH compute x * multiplier in int32; past an input scale of about 5.3 (multiplier
2^16 at shift 0) the largest inputs wrap to the other sign and answer the opposite saturation. A tensor of about
1e5 that another op (or the graph's output) also reads keeps such a scale: logistic(1e5 x) measured 8.5 dB at
int16 against 17.8 dB at int8. The quantizer keeps such an op float between DEQUANTIZE and QUANTIZE."""

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_float_island
from test_quantize_softmax_int16_rescale import held_out_sqnr, normal_rows, scaled
from tinyq.golden import tflm_run
from tinyq.ir import Operator, Quant
from tinyq.ops.logistic_tanh import int16_input_holds
from tinyq.quantize import quantize_graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

ROW = np.linspace(-32768, 32767, 64).round().astype(np.int16)
EXACT = {"logistic": lambda z: 1 / (1 + np.exp(-np.clip(z, -80, 80))), "tanh": np.tanh}


@pytest.mark.parametrize("name", ["logistic", "tanh"])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 5.0, 5.4, 30.0, 1e3])
def test_the_input_rule_says_where_tflm_answers_garbage(name, scale):
    """A full-range int16 row through TFLM: answers off the exact function by more than 0.01 exactly where
    the rule says the input rescale does not hold."""
    b = GraphBuilder(name)
    x = b.input((1, len(ROW)), "int16", scale=scale, zero_point=0)
    y = b.activation((1, len(ROW)), "int16", scale=1.0 / 32768, zero_point=0)
    b.op(name, [x], [y])
    got = np.asarray(tflm_run(write_model(b.build([y])), [[ROW[None]]])[0][0]).ravel() / 32768.0
    garbage = bool(np.abs(got - EXACT[name](ROW.astype(np.float64) * scale)).max() > 0.01)
    op = Operator(0, name, (0,), (1,), None)
    assert int16_input_holds(op, "int16", (Quant((scale,), (0,)),), None) != garbage, (scale, got)
    assert int16_input_holds(op, "int8", (Quant((scale,), (0,)),), None)


def gate(spread: float):
    """logistic(x * spread), its input an output too (so its range is not cut at the saturation)."""
    return scaled("logistic", spread, input_is_output=True)


def test_a_gate_on_values_of_1e5_takes_the_float_logistic():
    result = quantize_graph(gate(1e5), normal_rows(64, 0), QuantizeConfig(activations="int16"))
    assert_float_island(result.graph, "logistic")
    assert_bit_exact(result.graph, n_inputs=12)
    # measured 90 dB; TFLM's wrapped int16 input answered 8.5 dB, below int8's 17.8 dB
    assert held_out_sqnr(result) > 30.0


def test_a_gate_within_the_rescale_stays_int16():
    result = quantize_graph(gate(1e4), normal_rows(64, 0), QuantizeConfig(activations="int16"))
    op = next(o for o in result.graph.operators if o.op == "logistic")
    assert result.graph.tensors[op.inputs[0]].dtype == "int16"
