"""int16 ABS and RSQRT (zero points 0) against the pinned TFLM, on every int16 value they take.

ABS is fed all 65,536 values, RSQRT the 32,768 at or above zero (TFLM's Invoke fails below), for
several scale pairs each, on the host, then once on qemu-m55 and ARMv6-M. RSQRT's multiplier is
1 / (sqrt(s_in) * s_out) at double precision: the pinned build evaluates it so, although its
source reads float32; the (1/32768, 1/128) pair is where the two part (one value one step off)."""

import math

import numpy as np
import pytest

from conftest import QEMU_BOARDS, assert_records_exact
from tinyq import qmath
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import HostRunner

EVERY = np.arange(-32768, 32768, dtype=np.int16)
AT_OR_ABOVE_ZERO = np.arange(0, 32768, dtype=np.int16)

ABS_SCALES = [
    (0.005836874712258577, 0.0046422905288636684),  # SEANet's scales: double vs float32 ratio differ
    (0.001, 0.003),                                   # shrinks: right shift
    (1 / 32768, 1 / 32768),                           # equal: no rescale, |-32768| saturates at 32767
    (0.02, 0.01),                                     # grows: left shift, most outputs saturate
    (3e-5, 7e-5),
    (0.1, float(np.nextafter(np.float32(0.1), np.float32(1)))),  # one float32 ulp apart: rescaled
    (1e-6, 1e4),                                      # ratio below 2^-32: multiplier 0, every output 0
]

RSQRT_SCALES = [
    (1 / 32768, 1 / 128),  # float32 product: 7724 at x = 9; TFLM gives 7723
    (0.01, 0.01),
    (0.5, 1 / 32768),      # outputs saturate at 32767
    (3e-4, 2e-3),
    (4.0, 1e-4),
    (1e-6, 1.0),
]


def _graph(op: str, scales, n: int):
    b = GraphBuilder(f"{op}_s16")
    outs = []
    for s_in, s_out in scales:
        x = b.input((1, n), dtype="int16", scale=s_in, zero_point=0)
        outs.append(b.activation((1, n), dtype="int16", scale=s_out, zero_point=0))
        b.op(op, [x], [outs[-1]])
    return b.build(outs)


def _records(graph, values: np.ndarray, seed: int = 0):
    """Every value in order, then reversed, then shuffled (each input gets them all)."""
    rng = np.random.default_rng(seed)
    orders = [values, values[::-1], rng.permutation(values)]
    return [[o.reshape(1, -1).copy() for _ in graph.inputs] for o in orders]


def test_abs_every_int16_value_host():
    graph = _graph("abs", ABS_SCALES, EVERY.size)
    compiled, _ = assert_records_exact(graph, _records(graph, EVERY))
    assert {k.kernel for k in compiled.lowered.ops} == {"abs_s16"}


def test_rsqrt_every_valid_int16_value_host():
    graph = _graph("rsqrt", RSQRT_SCALES, AT_OR_ABOVE_ZERO.size)
    compiled, _ = assert_records_exact(graph, _records(graph, AT_OR_ABOVE_ZERO))
    assert {k.kernel for k in compiled.lowered.ops} == {"rsqrt_s16"}


def test_rsqrt_multiplier_is_taken_at_double_precision():
    """The measured golden arithmetic, not the source's: the float32 product gives another multiplier."""
    s_in, s_out = RSQRT_SCALES[0]
    f32 = np.float32
    assert qmath.rsqrt_rescale(s_in, s_out) == qmath.quantize_multiplier(1 / (math.sqrt(float(f32(s_in))) * float(f32(s_out))))
    assert qmath.rsqrt_rescale(s_in, s_out) != qmath.quantize_multiplier(1 / float(np.sqrt(f32(s_in)) * f32(s_out)))


QEMU_CHUNK = 8192  # the firmware holds one chunk per tensor: every value takes several records


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_every_value_on_qemu(board):
    for op, scales, values in (("abs", ABS_SCALES[:2], EVERY), ("rsqrt", RSQRT_SCALES[:2], AT_OR_ABOVE_ZERO)):
        graph = _graph(op, scales, QEMU_CHUNK)
        records = [[chunk.reshape(1, -1).copy() for _ in graph.inputs] for chunk in values.reshape(-1, QEMU_CHUNK)]
        assert_records_exact(graph, records, board)


def test_rsqrt_below_zero_tflm_fails_tinyq_writes_the_output_of_one(capfd):
    graph = _graph("rsqrt", [(0.01, 0.002)], 6)
    record = [np.array([[1, -1, -32768, -300, 0, 2]], dtype=np.int16)]
    with pytest.raises(TinyqError, match="TFLM failed to run the model: Node RSQRT .*Rsqrt is only defined for "
                                         "positive values"):  # TFLM's log, quoted in the one line
        tflm_run(write_model(graph), [record])
    assert capfd.readouterr().err == ""
    board = get_board("host")
    (out,) = HostRunner(board).run(compile_graph(graph, board), [record]).outputs[0]
    out = out.ravel()
    assert (out[1:4] == out[0]).all() and out[4] == 32767 and out[5] != out[0]


@pytest.mark.parametrize("op", ["abs", "rsqrt"])
@pytest.mark.parametrize("zp_in, zp_out", [(5, 0), (0, -3)])
def test_int16_zero_points_must_be_0_as_tflm_requires(op, zp_in, zp_out):
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype="int16", scale=0.01, zero_point=zp_in)
    y = b.activation((2, 3), dtype="int16", scale=0.01, zero_point=zp_out)
    b.op(op, [x], [y])
    graph = b.build([y])
    with pytest.raises(UnsupportedError, match=f"TFLM's int16 {op.upper()} requires 0"):
        lower_graph(graph)
    with pytest.raises(Exception, match="could not load"):  # TFLM's Prepare refuses it too
        tflm_run(write_model(graph), [[np.zeros((2, 3), np.int16)]])


@pytest.mark.parametrize("op, s_in, s_out, message", [
    ("abs", 1.0, 1e-5, "int32 rescaling overflows on int16"),  # |-32768| << 17 leaves int32
    ("rsqrt", 1e-6, 1e-9, "outside"),
])
def test_refuses_implausible_int16_scales(op, s_in, s_out, message):
    with pytest.raises(UnsupportedError, match=message):
        lower_graph(_graph(op, [(s_in, s_out)], 4))


def test_int16_beside_int8_is_refused():
    b = GraphBuilder("mixed")
    x = b.input((4,), dtype="int16", scale=0.01, zero_point=0)
    y = b.activation((4,), dtype="int8", scale=0.01, zero_point=0)
    b.op("abs", [x], [y])
    with pytest.raises(UnsupportedError, match="beside int16"):
        lower_graph(b.build([y]))


@pytest.mark.parametrize("dtype, zp", [("int16", 0), ("int8", -20)])
def test_verify_feeds_rsqrt_inputs_it_is_defined_for(dtype, zp):
    """tinyq verify's own records (make_inputs) for an input RSQRT reads: from its zero point up, as TFLM's
    Invoke fails below (LiteRT's single_rsqrt_default_a16w8_recipe_quantized.tflite: verify stopped at the
    first record with TFLM's 'Rsqrt is only defined for positive values')."""
    from conftest import assert_bit_exact

    b = GraphBuilder("rsqrt_input")
    x = b.input((4, 8), dtype=dtype, scale=0.01, zero_point=zp)
    y = b.activation((4, 8), dtype=dtype, scale=0.02, zero_point=0 if dtype == "int16" else -128)
    b.op("rsqrt", [x], [y])
    assert_bit_exact(b.build([y]), n_inputs=10)
