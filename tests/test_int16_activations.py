"""int16 LOGISTIC, TANH and SOFTMAX against TFLM: every int16 input for power-of-two and other input
scales (each regime of TFLM's input scaling), TFLM's sigmoid table read off the golden interpreter
again, SOFTMAX rows whose differences sweep both of its tables; the tables computed offline
(qmath.lut_int16) and what tinyq refuses.
"""

import numpy as np
import pytest

from chosen_inputs import assert_bit_exact_on
from conftest import assert_bit_exact
from tinyq import qmath
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.golden import tflm_run
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
# power-of-two scales on both sides of TFLM's special case (2^-12 for LOGISTIC, 2^-12 and 2^-11
# for TANH), scales that need many doublings, one that needs none, and a float32 scale within
# CheckedLog2's 1e-3 of a power of two that is none
INPUT_SCALES = [2**-12, 2**-11, 2**-10, 2**-15, 2**-3, 1 / 48, 3.7e-4, 3.1e-6, 1e-10, 2.0, 2**-12 * 1.0004]


def sigmoid_graph(op: str, scales) -> object:
    b = GraphBuilder(op)
    outs = []
    for s in scales:
        x = b.input((65536,), "int16", scale=s, zero_point=0)
        y = b.activation((65536,), "int16", scale=2**-15, zero_point=0)
        b.op(op, [x], [y])
        outs.append(y)
    return b.build(outs)


@pytest.mark.parametrize("op", ["logistic", "tanh"])
def test_sigmoid_s16_every_input(op):
    graph = sigmoid_graph(op, INPUT_SCALES)
    assert_bit_exact_on(graph, [[ALL_INT16] * len(INPUT_SCALES)])


def test_sigmoid_s16_input_scaling_regimes():
    """The scales above reach each branch of the Prepare arithmetic."""
    assert qmath.sigmoid_int16_scaling(2**-12, (0,)) == (3, 0)  # power of two: 3 << 0
    assert qmath.sigmoid_int16_scaling(2**-11, (0, 1)) == (6, 0)  # TANH's second power of two
    assert qmath.sigmoid_int16_scaling(2**-11, (0,))[1] > 0  # LOGISTIC doubles instead
    assert qmath.sigmoid_int16_scaling(1e-10, (0,))[1] == 31  # the doubling stops at 31
    assert qmath.sigmoid_int16_scaling(2.0, (0,)) == (24576, 0)  # no doubling at all
    assert qmath.checked_log2(2**-12 * 1.0004) == (-12, True)  # within 1e-3: "a power of two"


def test_sigmoid_table_is_tflms():
    """Read the table off TFLM again: int16 TANH at input scale 1/48 maps input i to entry i - 32768
    (the input lands on the table's grid exactly, 256 units an entry); the last entry from input
    32639 at scale 2/12288, 254 units past entry 254."""
    def tanh(scale, xs):
        b = GraphBuilder("probe")
        x = b.input((len(xs),), "int16", scale=scale, zero_point=0)
        y = b.activation((len(xs),), "int16", scale=2**-15, zero_point=0)
        b.op("tanh", [x], [y])
        return tflm_run(write_model(b.build([y])), [[np.array(xs, np.int16)]])[0][0].astype(np.int64)

    head = tanh(1 / 48, list(range(255))) + 32768
    step = tanh(2 / 12288, [32639])[0] - (head[254] - 32768)
    np.testing.assert_array_equal(np.append(head, head[254] + step), qmath.SIGMOID_TABLE_Q16)


def softmax_graph(cases) -> object:
    b = GraphBuilder("softmax_s16")
    outs = []
    for shape, scale, beta in cases:
        x = b.input(shape, "int16", scale=scale, zero_point=0)
        y = b.activation(shape, "int16", scale=1 / 32768, zero_point=0)
        b.op("softmax", [x], [y], beta=beta)
        outs.append(y)
    return b.build(outs)


def test_softmax_s16_random():
    cases = [((4, 10), 1e-3, 1.0), ((2, 3, 7), 2**-12, 1.0), ((1, 100), 3e-4, 0.5), ((5, 1), 0.01, 2.0),
             ((3, 300), 1e-5, 1.0), ((2, 64), 0.05, 1.0), ((1, 1, 1, 17), 1.5e-4, 3.0)]
    assert_bit_exact(softmax_graph(cases), n_inputs=30)


def test_softmax_s16_sweeps_both_tables():
    """Rows of two values: the difference takes every value from 0 to 65535, so the exp table is
    read at every entry and slope; the sums of two exps cover the reciprocal table's range. Input
    scales put the differences on the table's grid 1:1 (10/65535), coarser (saturating below -10)
    and finer, and multipliers above 1 (left shifts)."""
    hi = np.full(65536, 32767, dtype=np.int16)
    lo = (32767 - np.arange(65536)).astype(np.int16)
    rows = np.stack([hi, lo], axis=1)
    scales = [10 / 65535, 1e-3, 1e-5, 2e-3]
    graph = softmax_graph([((65536, 2), s, 1.0) for s in scales])
    assert_bit_exact_on(graph, [[rows] * len(scales), [rows[:, ::-1].copy()] * len(scales)])


def test_softmax_s16_tables_at_their_ends():
    exp_lut, recip_lut = qmath.softmax_int16_luts()
    assert exp_lut.shape == recip_lut.shape == (513,)
    assert exp_lut[-1] == 32767 and recip_lut[0] == 32767  # exp(0) = 1, 1 / (1 + 0) = 1
    assert recip_lut[-1] == 16384  # 1 / 2
    assert 0 <= exp_lut[0] <= 3  # exp(-10) * 32768 = 1.49


def _lower_error(graph) -> str:
    with pytest.raises(UnsupportedError) as info:
        compile_graph(graph, get_board("host"))
    return str(info.value)


def _unary(op, x_q=(1e-3, 0), y_q=(2**-15, 0), **options):
    b = GraphBuilder("bad")
    x = b.input((2, 3), "int16", scale=x_q[0], zero_point=x_q[1])
    y = b.activation((2, 3), "int16", scale=y_q[0], zero_point=y_q[1])
    b.op(op, [x], [y], **options)
    return b.build([y])


@pytest.mark.parametrize("op, kw, message", [
    ("logistic", dict(x_q=(1e-3, 5)), "TFLM's int16 LOGISTIC requires 0"),
    ("tanh", dict(y_q=(2**-15, 1)), "TFLM's int16 TANH requires 0"),
    ("logistic", dict(y_q=(2**-14, 0)), "is not 2^-15"),
    ("tanh", dict(y_q=(3e-5, 0)), "is not 2^-15"),
    ("softmax", dict(y_q=(1 / 65536, 0), beta=1.0), "must have scale 1/32768"),
    ("softmax", dict(x_q=(1e-3, 2), y_q=(1 / 32768, 0), beta=1.0), "TFLM's int16 SOFTMAX requires 0"),
])
def test_s16_refusals(op, kw, message):
    assert message in _lower_error(_unary(op, **kw))
