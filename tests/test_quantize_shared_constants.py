"""Found with a Keras LSTM unrolled over time: one float constant is an FC's bias and every step's ADD
operand, and splitting the gates' sums makes parts whose SQNR is below the whole's."""

import numpy as np

from conftest import assert_bit_exact
from tinyq.quantize import quantize_graph
from tinyq.quantize.report import layer_warnings, sqnr_report
from tinyq.tflite.builder import GraphBuilder


def shared_bias_graph():
    """x -> FC(w, bias) -> h; h + bias (the same tensor) -> split in 4 -> add of two parts."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("shared")
    x = b.input((1, 8), dtype="float32")
    w = b.const(rng.normal(0, 0.5, (16, 8)).astype(np.float32), "float32")
    bias = b.const(rng.normal(0, 1.0, (16,)).astype(np.float32), "float32")
    h = b.activation((1, 16), dtype="float32")
    b.op("fully_connected", [x, w, bias], [h])
    s = b.activation((1, 16), dtype="float32")
    b.op("add", [h, bias], [s])
    parts = [b.activation((1, 4), dtype="float32") for _ in range(4)]
    b.op("split", [b.const(np.array(1, np.int32), "int32"), s], parts, num_splits=4)
    y = b.activation((1, 4), dtype="float32")
    b.op("add", [parts[0], parts[3]], [y])
    return b.build([y])


def test_a_constant_that_is_a_bias_and_an_operand_is_quantized_for_each():
    graph = shared_bias_graph()
    calib = np.random.default_rng(0).normal(0, 1, (64, 8)).astype(np.float32)
    result = quantize_graph(graph, [calib])
    q = result.graph
    fc = next(op for op in q.operators if op.op == "fully_connected")
    add = next(op for op in q.operators if op.op == "add")
    assert q.tensors[fc.inputs[2]].dtype == "int32" and q.tensors[add.inputs[1]].dtype == "int8"
    assert_bit_exact(q, n_inputs=20)  # it lowers, and runs as TFLM runs it


def test_data_movement_is_never_blamed_for_a_drop():
    """A split keeps its input's parameters, so it adds no error; a quarter holding small values has a
    lower SQNR than the whole, which is no reason to warn."""
    graph = shared_bias_graph()
    calib = np.random.default_rng(0).normal(0, 1, (64, 8)).astype(np.float32)
    result = quantize_graph(graph, [calib])
    records = [[x[None]] for x in calib[:16]]
    warned = layer_warnings(sqnr_report(result.float_graph, result.graph, records), result.float_graph, drop_db=0.0)
    assert not [w for w in warned if w.op == "split"]
