"""HARD_SWISH against TFLM, exhaustively: every int8 input value, for many input/output quantizations."""

import zlib

import numpy as np
import pytest

from branches import Branch, branches_graph
from conftest import assert_bit_exact
from tinyq import qmath
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph
from tinyq.verify import make_inputs

SHAPE = (2, 1024)  # 3 edge-case records + 3 random ones: every int8 value occurs
N_INPUTS = 6


def assert_exhaustively_bit_exact(graph):
    for i in range(len(graph.inputs)):
        seen = np.unique(np.concatenate([r[i].ravel() for r in make_inputs(graph, N_INPUTS)]))
        assert seen.size == 256, "the test inputs must cover every int8 value"
    assert_bit_exact(graph, n_inputs=N_INPUTS)


def swish_graph(quants):
    return branches_graph("hard_swish", [Branch("hard_swish", SHAPE, q_in, q_out) for q_in, q_out in quants])


def random_quants(n):
    """MobileNetV3-like: output range about the input's, both log-uniform, random zero points."""
    rng = np.random.default_rng(zlib.crc32(b"hard_swish"))
    cases = []
    for _ in range(n):
        in_scale = float(10 ** rng.uniform(-3, 0))
        out_scale = in_scale * float(10 ** rng.uniform(-1.5, 1))
        cases.append(((in_scale, int(rng.integers(-128, 128))), (out_scale, int(rng.integers(-128, 128)))))
    return cases


def _just_below(x: float) -> float:
    return float(np.nextafter(np.float32(x), np.float32(0)))


# Each case drives one branch of TFLM's arithmetic (see test_special_cases_reach_their_regimes).
SPECIAL = {
    "reluish_shift_left_7": ((1.0, 5), (0.5, -100)),
    "reluish_shift_left_20": ((1e4, 0), (1e4, 0)),
    "reluish_shift_right_3": ((1e-3, -20), (1e-3, 40)),
    # right shifts of 16 or more: gemmlowp's int16 RoundingDivideByPOT truncates its mask
    "reluish_shift_right_20": ((1e-8, 127), (1e-8, -128)),
    "output_shift_right_16": ((1e-3, 0), (1.0, 3)),
    "output_multiplier_flushed_to_zero": ((1e-6, 9), (1e5, -60)),
    # input/128/output just below one: output exponent 0, Q15 multiplier saturated at 32767
    "output_multiplier_saturated": ((0.5, -3), (float(np.float32(0.5 / 128) / np.float32(_just_below(1.0))), 0)),
    "same_scale": ((0.05, -128), (0.05, -128)),
}


def test_random_quantizations_exhaustive():
    assert_exhaustively_bit_exact(swish_graph(random_quants(24)))


def test_special_cases_exhaustive():
    assert_exhaustively_bit_exact(swish_graph(list(SPECIAL.values())))


def test_special_cases_reach_their_regimes():
    scaling = {name: qmath.hard_swish_scaling(q_in[0], q_out[0]) for name, (q_in, q_out) in SPECIAL.items()}
    assert scaling["reluish_shift_left_7"][0][1] == 7
    assert scaling["reluish_shift_left_20"][0][1] == 20
    assert scaling["reluish_shift_right_3"][0][1] == -3
    assert scaling["reluish_shift_right_20"][0][1] == -20
    assert scaling["output_shift_right_16"][1][1] == -16
    assert scaling["output_multiplier_flushed_to_zero"][1] == (0, 0)
    assert scaling["output_multiplier_saturated"][1] == (32767, 0)


def test_4d_tensor():
    assert_bit_exact(branches_graph("hs4d", [Branch("hard_swish", (1, 5, 5, 8), (0.03, -40), (0.02, -110))]),
                     n_inputs=8)


def test_rejects_output_scale_at_or_below_input_scale_over_128():
    graph = swish_graph([((1.0, 0), (1.0 / 256, 0))])
    with pytest.raises(UnsupportedError, match="TFLM rejects"):
        lower_graph(graph)
