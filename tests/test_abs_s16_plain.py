"""int16 ABS without quantization parameters: TFLM's plain path (EvalImpl with std::abs), every int16 value.

TFLM's ABS Prepare reads no parameters when an int16 input has none, whatever the output has, and its
Eval then stores std::abs(x) back in int16: -32768 comes out as -32768 (the quantized path saturates
to 32767). An input with parameters and an output without is refused by TFLM's Prepare, and by tinyq."""

import numpy as np
import pytest

from conftest import QEMU_BOARDS, assert_records_exact
from tinyq.errors import UnsupportedError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

EVERY = np.arange(-32768, 32768, dtype=np.int16)
OUTPUT_SCALES = [None, 0.01, 1 / 32768]  # the output's parameters, which the plain path does not read


def _graph(n: int, output_scales=OUTPUT_SCALES):
    b = GraphBuilder("abs_s16_plain")
    outs = []
    for s_out in output_scales:
        x = b.input((1, n), dtype="int16")
        outs.append(b.activation((1, n), dtype="int16", scale=s_out, zero_point=None if s_out is None else 0))
        b.op("abs", [x], [outs[-1]])
    return b.build(outs)


def test_every_int16_value_host():
    graph = _graph(EVERY.size)
    rng = np.random.default_rng(0)
    records = [[o.reshape(1, -1).copy() for _ in graph.inputs] for o in (EVERY, EVERY[::-1], rng.permutation(EVERY))]
    compiled, run = assert_records_exact(graph, records)
    assert {k.kernel for k in compiled.lowered.ops} == {"abs_s16"}
    first = run.outputs[0][0].ravel()  # what both sides gave: the integer |x|, -32768 wrapped
    assert first[0] == -32768 and first[1] == 32767 and (first[32768:] == EVERY[32768:]).all()


def test_differs_from_the_quantized_path_only_at_minus_32768():
    """Same values, one input quantized (scales equal: no rescale): TFLM saturates there instead."""
    b = GraphBuilder("abs_s16_both")
    x = b.input((1, 4), dtype="int16")
    y = b.activation((1, 4), dtype="int16")
    xq = b.input((1, 4), dtype="int16", scale=0.01, zero_point=0)
    yq = b.activation((1, 4), dtype="int16", scale=0.01, zero_point=0)
    b.op("abs", [x], [y])
    b.op("abs", [xq], [yq])
    graph = b.build([y, yq])
    values = np.array([[-32768, -32767, -1, 5]], dtype=np.int16)
    (plain, quantized), = tflm_run(write_model(graph), [[values, values]])
    assert plain.ravel().tolist() == [-32768, 32767, 1, 5]
    assert quantized.ravel().tolist() == [32767, 32767, 1, 5]
    assert_records_exact(graph, [[values, values]])


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_every_value_on_qemu(board):
    chunk = 8192  # the firmware holds one chunk per tensor
    graph = _graph(chunk, [None, 0.01])
    records = [[c.reshape(1, -1).copy() for _ in graph.inputs] for c in EVERY.reshape(-1, chunk)]
    assert_records_exact(graph, records, board)


def test_quantized_input_with_unquantized_output_is_refused_as_tflm_does():
    b = GraphBuilder("abs_half")
    x = b.input((1, 4), dtype="int16", scale=0.01, zero_point=0)
    y = b.activation((1, 4), dtype="int16")
    b.op("abs", [x], [y])
    graph = b.build([y])
    with pytest.raises(UnsupportedError, match="no quantization parameters"):
        lower_graph(graph)
    with pytest.raises(Exception, match="could not load"):
        tflm_run(write_model(graph), [[np.zeros((1, 4), np.int16)]])


def test_unquantized_int16_input_with_an_int8_output_is_refused():
    b = GraphBuilder("abs_types")
    x = b.input((1, 4), dtype="int16")
    y = b.activation((1, 4), dtype="int8", scale=0.01, zero_point=0)
    b.op("abs", [x], [y])
    with pytest.raises(UnsupportedError, match="writes its input's type"):
        lower_graph(b.build([y]))
