"""`tinyq quantize --activations int16 | auto` runs PRELU on int16 with an int8 alpha, as TFLM's int16 PRELU
takes it (PreluPrepare requires an int8 alpha when the output is int16): the alpha was stored at the op's
width, int16, the int16 kernel was refused and the layer stayed int8 ("no int16 prelu here: alpha ... is
int16"), 13 dB below an int16 LEAKY_RELU on a Keras Dense + PReLU. A computed alpha reads an int8 copy."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.quantize import QuantizeConfig, quantize_graph
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.selfcheck import float_reference, point_sqnrs
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"


def dense_prelu(computed_alpha: bool, seed: int = 0):
    """FULLY_CONNECTED then PRELU, alpha a constant per unit or LOGISTIC of a second layer's output."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("dense_prelu")
    x = b.input((1, 24), F32)
    h, y = b.activation((1, 16), F32), b.activation((1, 16), F32)
    b.op("fully_connected", [x, b.const(rng.normal(size=(16, 24)).astype(np.float32) * 0.3),
                             b.const(rng.normal(size=16).astype(np.float32) * 0.1)], [h])
    if computed_alpha:
        pre, alpha = b.activation((1, 16), F32), b.activation((1, 16), F32)
        b.op("fully_connected", [x, b.const(rng.normal(size=(16, 24)).astype(np.float32) * 0.3),
                                 b.const(np.zeros(16, np.float32))], [pre])
        b.op("logistic", [pre], [alpha])
    else:
        alpha = b.const(rng.uniform(0.05, 0.6, size=16).astype(np.float32))
    b.op("prelu", [h, alpha], [y])
    data = rng.uniform(-1, 1, size=(96, 24)).astype(np.float32)
    return b.build([y]), data[:64], [[r[None]] for r in data[64:]]


def _prelu_types(graph):
    op = next(op for op in graph.operators if op.op == "prelu")
    return tuple(graph.tensors[t].dtype for t in (op.inputs[0], op.inputs[1], op.outputs[0]))


@pytest.mark.parametrize("computed_alpha", [False, True])
def test_int16_prelu_takes_an_int8_alpha_and_is_bit_exact(computed_alpha):
    graph, calib, records = dense_prelu(computed_alpha)
    int16 = quantize_graph(graph, [calib], QuantizeConfig(activations="int16"))
    assert _prelu_types(int16.graph) == ("int16", "int8", "int16")
    assert all(r.dtype == "int16" for r in int16.widths.rows if "prelu" in r.name), int16.widths.rows
    assert_bit_exact(int16.graph, n_inputs=10, layers=True)
    int8 = quantize_graph(graph, [calib], QuantizeConfig())
    ref = float_reference(prepare_float_graph(graph), records)
    ours, theirs = point_sqnrs(int16.graph, ref)[0], point_sqnrs(int8.graph, ref)[0]
    assert ours > theirs + 6, (ours, theirs)  # int16 activations: much less noise than int8 throughout
