"""Keras's default export (keras.Input without batch_size) computes shapes at run time from the batch: a Dense
on a sequence is SHAPE -> GATHER -> REDUCE_PROD -> PACK -> RESHAPE, an RNN's zero state is SHAPE -> ... -> FILL
feeding FULLY_CONNECTED and MUL. TFLM cannot run those files (no REDUCE_PROD; FILL needs constant dims), and
`tinyq quantize` refused them ('reduce_prod is not supported', 'float op fill cannot be quantized'). With the
batch fixed at 1 they are constants: folded, the quantized model is one TFLM runs, bit-exact with tinyq."""

from dataclasses import replace

import numpy as np

from conftest import assert_bit_exact
from tinyq.ops.gather import GatherOptions
from tinyq.passes.fold import fold_constants
from tinyq.quantize import quantize_graph
from tinyq.quantize.report import sqnr_report
from tinyq.quantize.rules import RULES
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"
MIN_SQNR_DB = 30.0


def _i32(b, values):
    return b.const(np.asarray(values, dtype=np.int32), "int32")


def _dynamic(graph, t):
    """Declare tensor t's batch unknown, as Keras's export does."""
    tensors = list(graph.tensors)
    tensors[t] = replace(tensors[t], shape_signature=(-1,) + tuple(tensors[t].shape[1:]))
    return replace(graph, tensors=tuple(tensors))


def dense_on_sequence():
    """Dense(7) on x[batch, 9, 5]: reshape to [batch * 9, 5], FULLY_CONNECTED, reshape back."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("dense_on_sequence")
    x = b.input((1, 9, 5), F32)
    shape, lead, rows, flat = (b.activation(s, "int32") for s in ((3,), (2,), (), (2,)))
    b.op("shape", [x], [shape])
    b.op("gather", [shape, _i32(b, [0, 1])], [lead], options=GatherOptions(axis=0))
    b.op("reduce_prod", [lead, _i32(b, [0])], [rows])
    b.op("pack", [rows, _i32(b, 5)], [flat], values_count=2, axis=0)
    r = b.activation((9, 5), F32)
    b.op("reshape", [x, flat], [r])
    y = b.activation((9, 7), F32)
    b.op("fully_connected", [r, b.const(rng.normal(0, 0.5, (7, 5)).astype(np.float32), F32),
                             b.const(rng.normal(0, 0.1, 7).astype(np.float32), F32)], [y])
    return _dynamic(b.build([y]), x)


def rnn_zero_state():
    """One step of an RNN cell from its zero state: h = tanh(x W + FILL(0) U), FILL's dims from SHAPE."""
    rng = np.random.default_rng(4)
    b = GraphBuilder("rnn_zero_state")
    x = b.input((1, 6), F32)
    shape, batch, dims = b.activation((2,), "int32"), b.activation((1,), "int32"), b.activation((2,), "int32")
    b.op("shape", [x], [shape])
    b.op("gather", [shape, _i32(b, [0])], [batch], options=GatherOptions(axis=0))
    b.op("concatenation", [batch, _i32(b, [8])], [dims], axis=0)
    h0 = b.activation((1, 8), F32)
    b.op("fill", [dims, b.const(np.float32(0.0), F32)], [h0])
    xw, hu, s, y = (b.activation((1, 8), F32) for _ in range(4))
    b.op("fully_connected", [x, b.const(rng.normal(0, 0.5, (8, 6)).astype(np.float32), F32), -1], [xw])
    b.op("fully_connected", [h0, b.const(rng.normal(0, 0.5, (8, 8)).astype(np.float32), F32),
                             b.const(rng.normal(0, 0.3, 8).astype(np.float32), F32)], [hu])
    b.op("add", [xw, hu], [s])
    b.op("tanh", [s], [y])
    return _dynamic(b.build([y]), x)


def _quantizes(graph, shape):
    calib = [np.random.default_rng(0).normal(0, 1, (48,) + shape).astype(np.float32)]
    result = quantize_graph(graph, calib)
    q = result.graph
    assert all(op.op in RULES for op in q.operators) and "reduce_prod" not in {op.op for op in q.operators}
    assert_bit_exact(q, n_inputs=12)
    records = [[calib[0][k][None]] for k in range(12)]
    sqnr = sqnr_report(result.float_graph, q, records).output_sqnr_db[0]
    assert sqnr >= MIN_SQNR_DB, f"output SQNR {sqnr:.1f} dB"
    return q


def test_shape_arithmetic_folds_to_the_reshape_shape():
    folded = fold_constants(dense_on_sequence())
    assert [op.op for op in folded.operators] == ["reshape", "fully_connected"]
    assert folded.tensors[folded.operators[0].inputs[1]].data.tolist() == [9, 5]


def test_a_dense_on_a_sequence_quantizes():
    _quantizes(dense_on_sequence(), (9, 5))


def test_an_rnn_zero_state_quantizes():
    q = _quantizes(rnn_zero_state(), (6,))
    assert {op.op for op in q.operators} >= {"fully_connected", "add", "tanh"}
    assert "fill" not in {op.op for op in q.operators}
