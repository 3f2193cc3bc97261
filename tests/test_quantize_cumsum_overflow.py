"""CUMSUM over a long axis: TFLM's int8 kernel adds each input step as 2^19 in int32 and wraps, so running sums
past 2^12 input steps come out as garbage - bit-exact garbage, as tinyq reproduces TFLM (found by `tinyq bench
graphs`: a cumsum over 490 values of about -3 each, output SQNR -0.1 dB). The quantizer now gives such an input
a scale that holds the largest running sum calibration saw, with 2x headroom."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.quantize import quantize_graph
from tinyq.quantize.report import sqnr_report
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"


@pytest.mark.parametrize("depth, mean", [(490, -3.0), (64, 2.0), (20, 0.0)])
def test_running_sums_stay_within_tflm_int32(depth, mean):
    b = GraphBuilder("cumsum")
    x = b.input((1, depth), F32)
    y = b.activation((1, depth), F32)
    b.op("cumsum", [x, b.const(np.array(1, np.int32), "int32")], [y])
    graph = b.build([y])
    rng = np.random.default_rng(0)
    result = quantize_graph(graph, [(rng.normal(mean, 1.0, (64, depth))).astype(np.float32)])
    s_in = result.graph.tensors[result.graph.operators[0].inputs[0]].quant.s
    largest = np.max(np.abs(np.cumsum(rng.normal(mean, 1.0, (16, depth)), axis=1)))
    assert largest / s_in < 2**12, (largest, s_in)
    assert_bit_exact(result.graph, n_inputs=6)
    test = [[rng.normal(mean, 1.0, (1, depth)).astype(np.float32)] for _ in range(8)]
    assert sqnr_report(result.float_graph, result.graph, test).output_sqnr_db[0] > 20.0
