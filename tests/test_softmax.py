"""SOFTMAX against TFLM: int8 -> int8 and int8 -> int16, any beta and input scale, 2-D and 4-D."""

import zlib

import numpy as np
import pytest

from branches import Branch, branches_graph
from conftest import assert_bit_exact, shared_file
from tinyq import qmath
from tinyq.boards import get_board
from tinyq.build.host import build_host
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_file, compile_graph
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph
from tinyq.run.host import run_host
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import summarize, verify_host

OUTPUT_QUANT = {"int8": (1 / 256, -128), "int16": (1 / 65536, -32768)}


def softmax_graph(shape, scale, zero_point, beta, out="int8", out_quant=None):
    b = GraphBuilder("softmax")
    x = b.input(shape, scale=scale, zero_point=zero_point)
    out_scale, out_zp = out_quant or OUTPUT_QUANT[out]
    y = b.activation(shape, out, scale=out_scale, zero_point=out_zp)
    b.op("softmax", [x], [y], beta=beta)
    return b.build([y])


def rng_for(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


# Row lengths 10, 7, 16, 33, 1, 2, 100, 9; sizes multiples of 16 elements so that tinyq's
# memory planner (whose lower bound ignores alignment) proves its plans at once.
SHAPES = [(8, 10), (16, 7), (1, 3, 3, 16), (16, 1, 1, 33), (16, 1), (8, 2), (1, 1, 4, 100), (16, 9)]


def softmax_branches(name, cases, out):
    """cases: (shape, input scale, input zero point, beta), all in one graph."""
    return branches_graph(name, [Branch("softmax", shape, (scale, zp), OUTPUT_QUANT[out], out, {"beta": beta})
                                 for shape, scale, zp, beta in cases])


def random_cases(out, group):
    """Log-uniform input scales and betas around the usual ones, random zero points."""
    rng = rng_for("random", out, group)
    cases = []
    for shape in SHAPES[group::2]:
        beta = float(rng.choice([1.0, 10 ** rng.uniform(-1, 1)]))
        cases.append((shape, float(10 ** rng.uniform(-3, 0)), int(rng.integers(-128, 128)), beta))
    return cases


@pytest.mark.parametrize("group", [0, 1])
@pytest.mark.parametrize("out", ["int8", "int16"])
def test_softmax_random_quantization(out, group):
    assert_bit_exact(softmax_branches("softmax_random", random_cases(out, group), out), n_inputs=12)


# (input scale, beta): each picks a different regime of TFLM's Prepare.
SPECIAL_SCALINGS = {
    # beta*scale*2^26 capped at 2^31 - 1: left shift 31, diff_min 0, only the row maxima count
    "capped_multiplier": (1.0, 100.0),
    # left shift 26..30: diff_min between -31 and -1, small differences already give exp() == 0
    "narrow_radius": (0.5, 1.0),
    "radius_1": (0.6, 20.0),
    # real multiplier just above 1: left shift 1, diff_min far below -255
    "multiplier_near_one": (1.6e-8, 1.0),
    # a power of two (mantissa exactly 1/2)
    "pot_scale": (1 / 16, 1.0),
    "mlp_like": (0.235791, 1.0),
}


@pytest.mark.parametrize("out", ["int8", "int16"])
def test_softmax_special_scalings(out):
    cases = [((4, 12), scale, 7, beta) for _, (scale, beta) in sorted(SPECIAL_SCALINGS.items())]
    assert_bit_exact(softmax_branches("softmax_special", cases, out), n_inputs=12)


def test_softmax_special_scalings_reach_their_regimes():
    """The cases above really exercise the edges they are named after."""
    shift_of = {case: qmath.softmax_scaling(beta, scale) for case, (scale, beta) in SPECIAL_SCALINGS.items()}
    assert shift_of["capped_multiplier"][1:] == (31, 0)
    assert -31 <= shift_of["narrow_radius"][2] < -1
    assert shift_of["radius_1"][2] == -1
    assert shift_of["multiplier_near_one"][1] == 1 and shift_of["multiplier_near_one"][2] < -255


def test_softmax_long_rows_and_many_rows():
    # 511 is the longest int8 row TFLM survives when all its values are equal (as the
    # all -128 / all 127 inputs are): a sum of exps of 512 trips a TFLITE_CHECK.
    rng = rng_for("long")
    graph = branches_graph("softmax_long", [
        Branch("softmax", (3, 511), (float(rng.uniform(0.01, 0.2)), -3), OUTPUT_QUANT["int8"], "int8", {"beta": 1.0}),
        Branch("softmax", (2, 1000), (float(rng.uniform(0.01, 0.2)), 5), OUTPUT_QUANT["int16"], "int16",
               {"beta": 1.0}),
        Branch("softmax", (64, 1, 3), (0.1, 0), OUTPUT_QUANT["int8"], "int8", {"beta": 1.0}),
    ])
    assert_bit_exact(graph, n_inputs=6)


@pytest.mark.parametrize("out, quant, what", [
    ("int8", (1 / 255, -128), "scale"),
    ("int8", (1 / 256, 0), "zero point"),
    ("int16", (1 / 65536, 0), "zero point"),
    ("int16", (1 / 32768, -32768), "scale"),
])
def test_softmax_rejects_output_quantization_tflm_rejects(out, quant, what):
    with pytest.raises(UnsupportedError, match="output must have"):
        lower_graph(softmax_graph((1, 10), 0.1, 0, 1.0, out, out_quant=quant))


def test_softmax_accepts_int16_scale_within_tflm_tolerance():
    lower_graph(softmax_graph((1, 10), 0.1, 0, 1.0, "int16", out_quant=(1.0005 / 65536, -32768)))


def test_softmax_rejects_beta_times_scale_tflm_aborts_on():
    with pytest.raises(UnsupportedError, match="2\\^-26"):
        lower_graph(softmax_graph((1, 10), 1e-8, 0, 1.0))


def test_softmax_int8_sum_of_512_exps_where_tflm_aborts(tmp_path):
    """TFLM stops with a TFLITE_CHECK; tinyq gives the rounded probabilities (all <= 1/512 -> 0)."""
    board = get_board("host")
    compiled = compile_graph(softmax_graph((1, 600), 0.05, 0, 1.0), board)
    build_dir = write_output_dir(tmp_path / "host", compiled.source.files)
    exe = build_host(build_dir, compiled.source, board)
    inputs = [[np.full((1, 600), 3, np.int8)], [np.arange(600).reshape(1, 600).astype(np.int8)]]
    (equal,), (ramp,) = run_host(exe.path, inputs, [((1, 600), np.int8)])[0]
    assert (equal == -128).all()
    assert ramp.max() > -128  # a peaked row stays below 512 and is computed as usual


def test_digits_mlp_ends_in_softmax_and_is_bit_exact():
    path = shared_file("quant", "models", "mlp_digits", "tfl_int8.tflite")
    board = get_board("host")
    compiled = compile_file(path, board)
    assert [k.kernel for k in compiled.lowered.ops][-1] == "softmax"
    result = verify_host(compiled, board, n_inputs=50, seed=3)
    assert result.ok, summarize(result, compiled.graph)
