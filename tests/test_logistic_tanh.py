"""LOGISTIC and TANH against TFLM, exhaustively: every int8 input value for every scale tried.

Both ops are elementwise, so one long input in which all 256 int8 values occur
checks the whole function for a given input scale and zero point.
"""

import zlib

import numpy as np
import pytest

from branches import Branch, branches_graph
from conftest import assert_bit_exact
from tinyq import qmath
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import make_inputs

OUTPUT_QUANT = {"logistic": (1 / 256, -128), "tanh": (1 / 128, 0)}
SHAPE = (2, 1024)  # 3 edge-case records + 3 random ones: every int8 value occurs
N_INPUTS = 6


def unary_graph(op, scale, zero_point, shape=SHAPE, out_quant=None):
    b = GraphBuilder(op)
    x = b.input(shape, scale=scale, zero_point=zero_point)
    out_scale, out_zp = out_quant or OUTPUT_QUANT[op]
    y = b.activation(shape, scale=out_scale, zero_point=out_zp)
    b.op(op, [x], [y])
    return b.build([y])


def assert_exhaustively_bit_exact(graph):
    for i in range(len(graph.inputs)):
        seen = np.unique(np.concatenate([r[i].ravel() for r in make_inputs(graph, N_INPUTS)]))
        assert seen.size == 256, "the test inputs must cover every int8 value"
    assert_bit_exact(graph, n_inputs=N_INPUTS)


def random_quants(n):
    rng = np.random.default_rng(zlib.crc32(b"logistic_tanh"))
    return [(float(10 ** rng.uniform(-3.5, 0.5)), int(rng.integers(-128, 128))) for _ in range(n)]


# Scales that put TFLM's Prepare in its corners: left shift 0 (smallest scale taken),
# radii of 1920 (never reached), 120, 15, 7, 1 and 0 (everything saturates, even
# the zero point itself, which lands on the "<= -radius" side).
SPECIAL = {
    "smallest_scale": (2.0 ** -28, 3),
    "typical_1_over_256": (1 / 256, 0),
    "radius_120": (0.1, -7),
    "radius_15": (0.5, 100),
    "radius_7": (1.0, -128),
    "radius_1": (4.0, 127),
    "radius_0": (16.0, 0),
    "huge_scale": (1e6, -20),
}


def exhaustive_graph(op, quants):
    return branches_graph(op, [Branch(op, SHAPE, q, OUTPUT_QUANT[op]) for q in quants])


@pytest.mark.parametrize("op", ["logistic", "tanh"])
def test_random_scales_exhaustive(op):
    assert_exhaustively_bit_exact(exhaustive_graph(op, random_quants(16)))


@pytest.mark.parametrize("op", ["logistic", "tanh"])
def test_special_scales_exhaustive(op):
    assert_exhaustively_bit_exact(exhaustive_graph(op, list(SPECIAL.values())))


def test_special_scales_reach_their_radii():
    def radius(scale):
        _, shift = qmath.sigmoid_input_scaling(scale)
        return qmath.input_radius(qmath.SIGMOID_INPUT_INTEGER_BITS, shift)

    assert qmath.sigmoid_input_scaling(SPECIAL["smallest_scale"][0])[1] == 0
    assert [radius(SPECIAL[c][0]) for c in ("typical_1_over_256", "radius_120", "radius_15", "radius_7",
                                            "radius_1", "radius_0")] == [1920, 120, 15, 7, 1, 0]


@pytest.mark.parametrize("op", ["logistic", "tanh"])
def test_4d_tensor(op):
    assert_bit_exact(unary_graph(op, 0.07, -11, shape=(1, 4, 4, 3)), n_inputs=8)


@pytest.mark.parametrize("op, quant", [
    ("logistic", (1 / 128, -128)), ("logistic", (0.3, -128)),
    ("tanh", (1 / 128, -128)), ("tanh", (1 / 256, 0)), ("tanh", (0.0079, 1)),
])
def test_outputs_off_the_grid_are_written_on_it_as_tflm_does(op, quant):
    """TFLM writes its grid whatever the output tensor says (a converter's PyTorch MLP had TANH at 0.0079,
    zero point 1): tinyq runs such files as TFLM does, byte for byte."""
    assert_bit_exact(unary_graph(op, 0.1, 0, out_quant=quant), n_inputs=8)


def test_rejects_a_logistic_output_zero_point_tflm_refuses():
    with pytest.raises(UnsupportedError, match="requires -128"):
        lower_graph(unary_graph("logistic", 0.1, 0, out_quant=(1 / 256, 0)))


@pytest.mark.parametrize("op", ["logistic", "tanh"])
def test_rejects_input_scale_below_2_pow_minus_28(op):
    with pytest.raises(UnsupportedError, match="input scale"):
        lower_graph(unary_graph(op, 2.0 ** -29, 0))
