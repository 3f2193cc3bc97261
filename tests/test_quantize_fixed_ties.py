"""A concatenation of data with a tensor tied to a fixed output (a slice or reshape of a softmax, logistic or tanh):
the tie went through, so the whole group - the model's input included - took the softmax's [0, 1) grid, every
negative input clipped, and TFLM aborted on the result (found by `tinyq bench graphs`). A fixed output was
requantized on its way into a concatenation; a tensor tied to one now is too."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.quantize import quantize_graph
from tinyq.quantize.report import sqnr_report
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"


def sliced_then_concatenated(op: str, between: str):
    """concat(between(op(x)), x): the fixed output reaches the concatenation through a RESHAPE or a slice."""
    b = GraphBuilder(op)
    x = b.input((1, 40), F32)
    f = b.activation((1, 40), F32)
    b.op(op, [x], [f], **({"beta": 1.0} if op == "softmax" else {}))
    if between == "strided_slice":
        s = b.activation((1, 30), F32)
        b.op("strided_slice", [f, b.const(np.array([0, 5], np.int32), "int32"),
                               b.const(np.array([1, 35], np.int32), "int32"),
                               b.const(np.array([1, 1], np.int32), "int32")], [s])
    else:
        s = b.activation((1, 40), F32)
        b.op("reshape", [f, b.const(np.array([1, 40], np.int32), "int32")], [s], new_shape=[1, 40])
    y = b.activation((1, 40 + (30 if between == "strided_slice" else 40)), F32)
    b.op("concatenation", [s, x], [y], axis=1)
    return b.build([y]), x


@pytest.mark.parametrize("op", ["softmax", "logistic", "tanh"])
@pytest.mark.parametrize("between", ["strided_slice", "reshape"])
def test_the_data_keeps_its_own_range(op, between):
    graph, x = sliced_then_concatenated(op, between)
    rng = np.random.default_rng(0)
    result = quantize_graph(graph, [rng.normal(0, 3, (64, 40)).astype(np.float32)])
    lo, hi = result.activations[x].chosen
    assert lo < -5 and hi > 5, (lo, hi)  # not the fixed output's [0, 1) or [-1, 1)
    assert_bit_exact(result.graph, n_inputs=8)
    test = [[rng.normal(0, 3, (1, 40)).astype(np.float32)] for _ in range(8)]
    assert sqnr_report(result.float_graph, result.graph, test).output_sqnr_db[0] > 30.0
