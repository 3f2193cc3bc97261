"""A CONCATENATION of more than TFLM's 10 inputs (ai-edge-torch's nn.LSTM/GRU over more than ten steps stacks
every step's output in one): the quantizer splits it into a tree of CONCATENATIONs of at most 10, which TFLM
runs and tinyq matches bit for bit. Before, TFLM refused every candidate and `tinyq quantize` stopped."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.passes.split_concat import split_wide_concatenations
from tinyq.quantize import quantize_graph
from tinyq.quantize.floatrun import FloatRunner
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

CALIB = np.random.default_rng(0).normal(0, 1, (48, 8)).astype(np.float32)
TEST = np.random.default_rng(1).normal(0, 1, (24, 8)).astype(np.float32)


def wide_graph(parts: int, axis: int = 1):
    """`parts` branches of (1, 2) from one input - FCs, every third through a TANH (TFLM fixes its output
    parameters), the last a constant - concatenated along `axis`, then one FC."""
    rng = np.random.default_rng(parts)
    b = GraphBuilder(f"wide{parts}")
    x = b.input((1, 8), dtype="float32")
    branches = []
    for k in range(parts - 1):
        y = b.activation((1, 2), dtype="float32")
        b.op("fully_connected", [x, b.const(rng.normal(0, 0.5, (2, 8)).astype(np.float32), "float32"),
                                 b.const(rng.normal(0, 0.1, (2,)).astype(np.float32), "float32")], [y])
        if k % 3 == 2:
            t = b.activation((1, 2), dtype="float32")
            b.op("tanh", [y], [t])
            y = t
        branches.append(y)
    branches.append(b.const(np.array([[0.5, -1.5]], np.float32), "float32"))
    c = b.activation((1, 2 * parts), dtype="float32")
    b.op("concatenation", branches, [c], axis=axis)
    out = b.activation((1, 4), dtype="float32")
    b.op("fully_connected", [c, b.const(rng.normal(0, 0.3, (4, 2 * parts)).astype(np.float32), "float32"),
                             b.const(np.zeros(4, np.float32), "float32")], [out])
    return b.build([out])


def test_the_split_keeps_the_values_and_order():
    graph = wide_graph(25)
    split = split_wide_concatenations(graph)
    concats = [op for op in split.operators if op.op == "concatenation"]
    assert [len(op.inputs) for op in concats] == [10, 10, 5, 3]  # runs of ten in order, then the runs
    assert [op.index for op in split.operators] == list(range(len(split.operators)))
    final = concats[-1]
    assert final.outputs == next(op for op in graph.operators if op.op == "concatenation").outputs
    assert final.inputs == tuple(op.outputs[0] for op in concats[:3])
    assert [split.tensors[t].shape for t in final.inputs] == [(1, 20), (1, 20), (1, 10)]
    runner = FloatRunner(graph)  # LiteRT takes any number of inputs: the unsplit model's values
    for x in TEST[:6]:
        want = runner.outputs([x[None]])[0]
        got = tflm_run(write_model(split), [[x[None]]])[0][0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    ten = wide_graph(10)
    assert split_wide_concatenations(ten) is ten  # ten inputs: as it was


def test_tflm_refuses_the_unsplit_model():
    with pytest.raises(TinyqError, match="CONCATENATION"):
        tflm_run(write_model(wide_graph(12)), [[TEST[0][None]]])


@pytest.mark.parametrize("parts, axis", [(12, 1), (23, -1)])
def test_a_wide_concatenation_quantizes_into_one_tflm_runs_bit_exact(parts, axis):
    graph = wide_graph(parts, axis)
    q = quantize_graph(graph, [CALIB]).graph
    concats = [op for op in q.operators if op.op == "concatenation"]
    assert len(concats) > 1 and all(len(op.inputs) <= 10 for op in concats)
    final = q.tensors[concats[-1].outputs[0]].quant
    assert all(q.tensors[op.outputs[0]].quant == final for op in concats)  # one copy's parameters throughout
    runner = FloatRunner(graph)
    want = np.concatenate([runner.outputs([x[None]])[0] for x in TEST])
    qin, qout = q.tensors[q.inputs[0]].quant, q.tensors[q.outputs[0]].quant
    got = []
    for x in TEST:
        xq = np.clip(np.round(x / qin.s) + qin.zp, -128, 127).astype(np.int8)[None]
        o = tflm_run(write_model(q), [[xq]])[0][0]
        got.append((o.astype(np.float64) - qout.zp) * qout.s)
    sqnr = 10 * np.log10(np.sum(want ** 2) / np.sum((want - np.concatenate(got)) ** 2))
    assert sqnr > 25  # 31-33 dB here
    assert_bit_exact(q, n_inputs=20)
