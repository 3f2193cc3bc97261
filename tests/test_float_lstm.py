"""float32 UNIDIRECTIONAL_SEQUENCE_LSTM against TFLM (LstmStep<float>): batch- and time-major, several
batches, cell clip, over sequences of invocations (the float hidden and cell state carry over), on the
host and under QEMU (hard and soft float); TFLM's own float LSTM model (mnist_lstm) verifies too."""

import numpy as np
import pytest

from conftest import shared_file
from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.boards import get_board
from tinyq.driver import compile_file
from tinyq.ir import NO_TENSOR
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import verify_host


def float_lstm(b: GraphBuilder, rng, batches=1, steps=3, n_input=5, n_hidden=4, time_major=False, cell_clip=0.0,
               scale=0.5):
    shape_in = (steps, batches, n_input) if time_major else (batches, steps, n_input)
    x = b.input(shape_in, dtype="float32")
    inputs = [NO_TENSOR] * 24
    inputs[0] = x
    for w_in, w_rec in ((1, 5), (2, 6), (3, 7), (4, 8)):
        inputs[w_in] = b.const((rng.standard_normal((n_hidden, n_input)) * scale).astype(np.float32), "float32")
        inputs[w_rec] = b.const((rng.standard_normal((n_hidden, n_hidden)) * scale).astype(np.float32), "float32")
    for position in (12, 13, 14, 15):
        inputs[position] = b.const((rng.standard_normal(n_hidden) * 0.2).astype(np.float32), "float32")
    inputs[18] = b.variable((batches, n_hidden), dtype="float32")
    inputs[19] = b.variable((batches, n_hidden), dtype="float32")
    y = b.activation(shape_in[:2] + (n_hidden,), dtype="float32")
    b.op("unidirectional_sequence_lstm", inputs, [y], fused_activation_function="TANH", cell_clip=cell_clip,
         time_major=time_major)
    return y


CASES = [dict(), dict(batches=3, steps=4), dict(time_major=True, batches=2, steps=3),
         dict(cell_clip=0.75, scale=1.5), dict(n_input=12, n_hidden=9, steps=2)]


def lstm_graph(name="float_lstm", cases=CASES):
    rng = np.random.default_rng(11)
    b = GraphBuilder(name)
    outs = [float_lstm(b, rng, **case) for case in cases]
    return b.build(outs)


def test_float_lstms_over_a_sequence_of_invocations():
    assert_float_exact(lstm_graph(), n_inputs=12)


def test_float_lstm_special_values():
    """Infinities and NaNs run through the recurrent sums into the state; where a NaN input meets a NaN
    the arithmetic made, the compiler's operand order picks the NaN's bits (both builds give a NaN)."""
    assert_float_exact(lstm_graph("float_lstm_special"), n_inputs=6, special=True, seed=2, nan_bits_may_differ=True)


def test_float_lstm_on_targets():
    assert_float_exact(lstm_graph("float_lstm_targets", CASES[:4]), n_inputs=4, boards=("host", *QEMU_BOARDS))


@pytest.mark.parametrize("board", ["host"])
def test_tflm_mnist_float_lstm(board):
    path = shared_file("models", "tflm-corpus", "examples_mnist_lstm_trained_lstm.tflite")
    b = get_board(board)
    result = verify_host(compile_file(path, b), b, n_inputs=6)
    assert result.ok
