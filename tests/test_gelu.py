"""GELU (int8, exact and approximate) against LiteRT's reference kernels: TFLM has no GELU, so the
oracle here is the ai-edge-litert interpreter with the BUILTIN_REF op resolver, on every one of the
256 int8 inputs, for many quantizations; on the host and under QEMU (Helium and ARMv6-M)."""

import math
import zlib

import numpy as np
import pytest

from branches import Branch, branches_graph
from conftest import QEMU_BOARDS, bound_ops
from tinyq import libm_f32, qmath
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph
from tinyq.ops.gelu import MINUS_SQRT1_2, SQRT_2_OVER_PI, gelu_f32, gelu_tanh_f32
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import HostRunner, QemuRunner, make_inputs

F = np.float32
SHAPE = (2, 1024)  # 3 edge-case records + 3 random ones: every int8 value occurs
N_INPUTS = 6


def litert_run(model: bytes, records):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    results = []
    for record in records:
        for detail, array in zip(inputs, record):
            interp.set_tensor(detail["index"], array)
        interp.invoke()
        results.append([np.array(interp.get_tensor(d["index"])) for d in outputs])
    return results


def assert_matches_litert(graph, runner=None, board: str = "host", n_inputs: int = N_INPUTS):
    compiled = compile_graph(graph, get_board(board))
    records = make_inputs(graph, n_inputs)
    ours = (runner or HostRunner(get_board(board))).run(compiled, records).outputs
    golden = litert_run(compiled.model, records)
    for r, (mine, theirs) in enumerate(zip(ours, golden)):
        for i, (a, b) in enumerate(zip(mine, theirs)):
            differ = np.nonzero(np.asarray(a).ravel() != b.ravel())[0]
            assert differ.size == 0, (f"{board}: record {r}, output {graph.tensors[graph.outputs[i]].name}: "
                                      f"{differ.size} values differ from LiteRT, first at {differ[0]}")


def random_quants(name: str, n: int):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cases = []
    for _ in range(n):
        in_scale = float(10 ** rng.uniform(-2.5, 0.3))
        out_scale = in_scale * float(10 ** rng.uniform(-1.5, 0.5))
        cases.append(((in_scale, int(rng.integers(-128, 128))), (out_scale, int(rng.integers(-128, 128)))))
    return cases


def gelu_graph(quants, approximate: bool, shape=SHAPE):
    return branches_graph("gelu", [Branch("gelu", shape, q_in, q_out, options={"approximate": approximate})
                                   for q_in, q_out in quants])


SPECIAL = [((0.1, 127), (0.001, -128)),    # x <= 0 only: GELU's dip, most outputs saturate
           ((0.05, -128), (0.05, -128)),   # x >= 0: close to the identity
           ((0.5, 0), (0.5, 0)),           # |x| up to 64: erfc's far tails and tanh's saturation
           ((1e-3, 3), (1e-4, -1))]        # near zero: x/2 dominates


@pytest.mark.parametrize("approximate", [False, True])
def test_random_quantizations_every_input(approximate):
    assert_matches_litert(gelu_graph(random_quants(f"gelu{approximate}", 24) + SPECIAL, approximate))


# Quantizations where LiteRT's float32 arithmetic gives another table than a nearby formula:
# 0.5x(1 + erf(x/sqrt2)) in double (TFLite's older GeluTransform), and tanh correctly rounded.
NOT_ERF_IN_DOUBLE = [((0.02732856199145317, -106), (0.0021905587054789066, -44)),
                     ((0.043486323207616806, 55), (0.02800062857568264, -56))]
NOT_CORRECTLY_ROUNDED_TANH = [((0.024080857634544373, 118), (0.003497217781841755, 19)),
                              ((0.00832369178533554, -29), (0.0007502770749852061, 95))]


def _erf_in_double(x):
    return np.array([F(float(F(0.5) * v) * (1.0 + math.erf(float(v) * math.sqrt(0.5)))) for v in x], dtype=F)


def _tanh_correctly_rounded(x):
    inner = x + ((F(0.044715) * x) * x) * x
    return (F(0.5) * x) * (F(1.0) + np.tanh((SQRT_2_OVER_PI * inner).astype(np.float64)).astype(F))


def test_tables_are_litert_float32_arithmetic_not_an_approximation_of_it():
    for q_in, q_out in NOT_ERF_IN_DOUBLE:
        assert not np.array_equal(qmath.float_lut_int8(*q_in, *q_out, gelu_f32),
                                  qmath.float_lut_int8(*q_in, *q_out, _erf_in_double))
    for q_in, q_out in NOT_CORRECTLY_ROUNDED_TANH:
        assert not np.array_equal(qmath.float_lut_int8(*q_in, *q_out, gelu_tanh_f32),
                                  qmath.float_lut_int8(*q_in, *q_out, _tanh_correctly_rounded))
    assert_matches_litert(gelu_graph(NOT_ERF_IN_DOUBLE, approximate=False))
    assert_matches_litert(gelu_graph(NOT_CORRECTLY_ROUNDED_TANH, approximate=True))


def test_constants_are_the_float_casts_of_the_double_expressions():
    assert MINUS_SQRT1_2 == F(-0.70710678118654752440)
    assert SQRT_2_OVER_PI == F(1.12837916709551257390 * 0.70710678118654752440)
    assert libm_f32.erfcf(F(0.0)) == 1 and libm_f32.tanhf(F(30.0)) == 1


def test_tflm_has_no_gelu_and_int16_is_refused():
    graph = gelu_graph([((0.1, 0), (0.1, 0))], approximate=False, shape=(4,))
    with pytest.raises(Exception, match="GELU|gelu|opcode|load"):
        tflm_run(write_model(graph), make_inputs(graph, 1))
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype="int16", scale=0.1, zero_point=0)
    y = b.activation((2, 3), dtype="int16", scale=0.1, zero_point=0)
    b.op("gelu", [x], [y])
    with pytest.raises(UnsupportedError, match="int16; only int8"):
        lower_graph(b.build([y]))


def test_float_gelu_is_refused_and_sends_the_user_to_quantize():
    """A float GELU (ai-edge-torch's nn.GELU, also left float in its int8 files): TFLM does not run it; tinyq's
    quantizer writes it with ops TFLM has (tests/test_quantize_tflm_equivalents.py), so the refusal says so."""
    b = GraphBuilder("float_gelu")
    x, y = b.input((2, 3), dtype="float32"), b.activation((2, 3), dtype="float32")
    b.op("gelu", [x], [y])
    with pytest.raises(UnsupportedError) as info:
        lower_graph(b.build([y]))
    assert "TFLM has no GELU kernel" in info.value.what and "tinyq quantize writes GELU" in info.value.hint


def test_lowers_to_the_table_kernel():
    (bound,) = bound_ops(gelu_graph([((0.1, 0), (0.1, 0))], approximate=True, shape=(3, 5)))
    assert bound.kernel.name == "lut" and [c.name for c in bound.consts] == ["table"]


def test_on_every_target():
    graph = branches_graph("gelu_targets", [
        Branch("gelu", (4, 64), (0.05, 7), (0.03, -100), options={"approximate": False}),
        Branch("gelu", (4, 64), (0.02, -40), (0.02, -30), options={"approximate": True}),
    ])
    for board in QEMU_BOARDS:
        assert_matches_litert(graph, QemuRunner(get_board(board)), board=board)
