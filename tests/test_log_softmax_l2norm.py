"""LOG_SOFTMAX and L2_NORMALIZATION (int8, row-wise over the last axis) against TFLM: input scales
across TFLM's whole range, row lengths from 1 to past the int32 accumulators' limits, ranks 1 to 4,
zero points at the ends, in place; the refused variants; both ops on host + qemu-m55 + ARMv6-M."""

import zlib

import numpy as np
import pytest

from branches import Branch, branches_graph
from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from tinyq import qmath
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph
from tinyq.tflite.builder import GraphBuilder

LOG_SOFTMAX_OUT = (16 / 256, 127)
L2_OUT = (1 / 128, 0)


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def graph_of(op: str, cases, out_quant):
    """cases: (shape, (input scale, input zero point)) -> one op each, side by side."""
    return branches_graph(op, [Branch(op, shape, q_in, out_quant) for shape, q_in in cases])


# --- LOG_SOFTMAX ---

def test_log_softmax_input_scales():
    """From just above TFLM's 2^-26 floor (a multiplier near 1, diff_min at the int8 range's edge)
    to scales whose real multiplier TFLM caps at 2^31 - 1; log-sums of every size."""
    scales = [1.5 * 2.0**-26, 2.0**-25, 1e-6, 1e-3, 0.01, 0.05, 0.1, 0.3, 1.0, 4.0, 31.9, 32.0, 100.0]
    rng = _rng("log_softmax_scales")
    cases = [((3, 40), (s, int(rng.integers(-128, 128)))) for s in scales]
    cases += [((2, 1000), (s, 0)) for s in (0.01, 0.2)]  # near-equal long rows: log-sum of hundreds
    # multipliers just below 2^31: diff_min reaches -31 in Q5.26, so a log-sum above 1 would push
    # (difference - log-sum) below Q5.26's -32 (int32 wrap) if the row's tighter threshold were missed
    cases += [((6, 64), (s, 0)) for s in (0.1249, 0.2499, 0.4999, 1.999)]
    assert_bit_exact(graph_of("log_softmax", cases, LOG_SOFTMAX_OUT), n_inputs=12)


def test_log_softmax_scalings_reach_their_regimes():
    tiny = qmath.log_softmax_scaling(1.5 * 2.0**-26)
    assert tiny[1] == 1 and tiny[4] < -128  # left shift 1, every int8 difference counts
    capped = qmath.log_softmax_scaling(100.0)
    assert capped[0] == 2**31 - 1 and capped[1] == 31 and capped[4] == 0  # only the row maximum counts
    assert qmath.log_softmax_scaling(2.0**-26) is None


def test_log_softmax_shapes_and_zero_points():
    cases = [((1,), (0.1, 0)),                # rank 1, one element: log(1)
             ((7, 1), (0.2, -128)),           # rows of one
             ((2, 3, 4, 5), (0.05, 127)),     # rank 4
             ((1, 1, 1, 33), (0.08, -128)),
             ((5, 4097), (0.02, 5)),          # equal rows sum past Q12.19's 4096 and wrap, as TFLM's int32 does
             ((1, 6000), (0.5, -60))]
    assert_bit_exact(graph_of("log_softmax", cases, LOG_SOFTMAX_OUT), n_inputs=8)


# --- L2_NORMALIZATION ---

def test_l2_normalization_shapes_and_zero_points():
    rng = _rng("l2")
    cases = [((1,), (0.1, 0)), ((6, 1), (0.3, -128)),      # one element: +-1 (127 or -128) or 0
             ((3, 17), (0.02, int(rng.integers(-128, 128)))),
             ((2, 3, 4, 5), (0.05, 127)), ((1, 2, 2, 64), (1.0, -128)),
             ((4, 300), (0.01, 3)),
             ((2, 1 << 15), (0.1, -128)),                    # sums of squares up to 2^31 - 2^16: no wrap
             ((1, 40000), (0.1, 127))]                       # all-min rows: 40000 * 255^2 wraps int32
    assert_bit_exact(graph_of("l2_normalization", cases, L2_OUT), n_inputs=8)


def test_l2_normalization_random_rows():
    """Rows with a few large values among many small ones: the inverse square root's every shift."""
    b = GraphBuilder("l2_rows")
    outs = []
    for depth in (2, 3, 8, 100, 1000, 5000):
        x = b.input((4, depth), scale=0.1, zero_point=0, name=f"x{depth}")
        y = b.activation((4, depth), scale=L2_OUT[0], zero_point=L2_OUT[1], name=f"y{depth}")
        b.op("l2_normalization", [x], [y])
        outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=16)


def test_l2_normalization_output_off_its_grid_is_written_on_it_as_tflm_does():
    """TFLM's Prepare checks nothing of the output's parameters and writes the 1/128 grid: so does tinyq."""
    for q_out in ((1 / 256, 0), (0.01, 3)):
        assert_bit_exact(_single("l2_normalization", shape=(3, 7), q_out=q_out), n_inputs=8)


# --- refused ---

def _single(op, dtype="int8", shape=(2, 3), q_in=(0.1, 0), q_out=None, out_shape=None, **options):
    q_out = q_out or (LOG_SOFTMAX_OUT if op == "log_softmax" else L2_OUT)
    b = GraphBuilder("bad")
    x = b.input(shape, dtype=dtype, scale=q_in[0], zero_point=q_in[1])
    y = b.activation(out_shape or shape, dtype=dtype, scale=q_out[0], zero_point=q_out[1])
    b.op(op, [x], [y], **options)
    return b.build([y])


@pytest.mark.parametrize("op, kwargs, message", [
    ("log_softmax", dict(q_out=(1 / 256, 127)), "output must have scale 0.0625"),
    ("log_softmax", dict(q_out=(16 / 256, 0)), "and zero point 127"),
    ("log_softmax", dict(q_in=(2.0**-27, 0)), "at most 2\\^-26"),
    ("log_softmax", dict(out_shape=(3, 2)), "same shape"),
    ("log_softmax", dict(dtype="int16"), "only int8"),
    ("l2_normalization", dict(fused_activation_function="RELU"), "fused activation RELU"),
    ("l2_normalization", dict(shape=(1, 2, 1, 2, 3)), "rank 5 is above TFLM's limit of 4"),
    ("l2_normalization", dict(out_shape=(6,)), "same shape"),
])
def test_refused_variants(op, kwargs, message):
    with pytest.raises(UnsupportedError, match=message):
        lower_graph(_single(op, **kwargs))


# --- kernels ---

@pytest.mark.parametrize("op, out_quant", [("log_softmax", LOG_SOFTMAX_OUT), ("l2_normalization", L2_OUT)])
def test_in_place_chain(op, out_quant):
    """Two in a row, the second writing over the first's output (row-wise in-place rule)."""
    (bound,) = bound_ops(graph_of(op, [((2, 9), (0.1, 0))], out_quant))
    assert bound.kernel.inplace is not None
    b = GraphBuilder("chain")
    x = b.input((3, 5, 9), scale=0.07, zero_point=-9)
    t = b.activation((3, 5, 9), scale=out_quant[0], zero_point=out_quant[1])
    y = b.activation((3, 5, 9), scale=out_quant[0], zero_point=out_quant[1])
    b.op(op, [x], [t])
    b.op(op, [t], [y])
    compiled = assert_bit_exact(b.build([y]), n_inputs=10)
    assert [a.kind for a in compiled.plan.aliases] == ["in-place"] * 2


def test_both_on_every_target():
    graph = branches_graph("rows_targets", [
        Branch("log_softmax", (3, 50), (0.1, -5), LOG_SOFTMAX_OUT),
        Branch("log_softmax", (2, 2, 7), (2.0**-20, 40), LOG_SOFTMAX_OUT),
        Branch("l2_normalization", (4, 33), (0.05, 12), L2_OUT),
    ])
    assert_bit_exact_on_targets(graph, n_inputs=6, backends=("reference", "cmsis-nn", "esp-nn"))
