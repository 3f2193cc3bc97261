"""A float model with ABS, ELU, RSQRT, LOG_SOFTMAX and L2_NORMALIZATION through tinyq's quantizer:
TFLM's fixed output grids where it has them, versions as the converter writes them, and the int8
result bit-exact with TFLM."""

import numpy as np

from conftest import assert_bit_exact
from tinyq.ir import Quant
from tinyq.quantize import QuantizeConfig, quantize_graph
from tinyq.tflite.builder import GraphBuilder


def test_float_model_quantizes_and_runs_bit_exact():
    b = GraphBuilder("unary")
    x = b.input((2, 16), "float32")
    magnitude = b.activation((2, 16), "float32")
    b.op("abs", [x], [magnitude])
    elu = b.activation((2, 16), "float32")
    b.op("elu", [x], [elu])
    rsqrt = b.activation((2, 16), "float32")
    b.op("rsqrt", [magnitude], [rsqrt])
    log_probs = b.activation((2, 16), "float32")
    b.op("log_softmax", [elu], [log_probs])
    unit = b.activation((2, 16), "float32")
    b.op("l2_normalization", [x], [unit])
    graph = b.build([rsqrt, log_probs, unit])
    rng = np.random.default_rng(3)
    calibration = [rng.uniform(-3, 3, size=(32, 2, 16)).astype(np.float32)]
    q = quantize_graph(graph, calibration, QuantizeConfig()).graph
    t = q.tensors
    ops = {op.op: op for op in q.operators}
    assert t[ops["log_softmax"].outputs[0]].quant == Quant((16 / 256,), (127,))
    assert t[ops["l2_normalization"].outputs[0]].quant == Quant((1 / 128,), (0,))
    assert t[ops["rsqrt"].inputs[0]].quant.zp == -128  # |x| >= 0: every input valid for TFLM's RSQRT
    assert {name: op.version for name, op in ops.items() if name in ("abs", "elu", "rsqrt", "log_softmax",
                                                                      "l2_normalization")} == {
        "abs": 2, "elu": 1, "rsqrt": 2, "log_softmax": 2, "l2_normalization": 2}
    assert_bit_exact(q, n_inputs=12)
