"""ABS, RSQRT and ELU (int8, one lookup kernel each) against TFLM on every one of the 256 int8
inputs, for many input/output quantizations; the tables' own arithmetic (std::round, the inverse
square root; tests/test_libm_f32.py has expf); the refused variants, with the float-only NEG,
SQUARE, SQRT, EXP, LOG; and the family on the host, qemu-m55 and ARMv6-M."""

import zlib

import numpy as np
import pytest

from branches import Branch, branches_graph
from conftest import assert_bit_exact, assert_bit_exact_on_targets, assert_records_exact, bound_ops
from tinyq import qmath
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph
from tinyq.ops.elu import elu_f32
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import make_inputs

SHAPE = (2, 1024)  # 3 edge-case records + 3 random ones: every int8 value occurs
N_INPUTS = 6


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def assert_exhaustively_bit_exact(graph, n_inputs: int = N_INPUTS):
    for i in range(len(graph.inputs)):
        seen = np.unique(np.concatenate([r[i].ravel() for r in make_inputs(graph, n_inputs)]))
        assert seen.size == 256, "the test inputs must cover every int8 value"
    assert_bit_exact(graph, n_inputs=n_inputs)


def random_quants(name: str, n: int, in_zero_point=None):
    """Log-uniform scales (output about the input's), random zero points (or a fixed input one)."""
    rng = _rng(name)
    cases = []
    for _ in range(n):
        in_scale = float(10 ** rng.uniform(-3, 0.5))
        out_scale = in_scale * float(10 ** rng.uniform(-1.5, 1.5))
        zp_in = int(rng.integers(-128, 128)) if in_zero_point is None else in_zero_point
        cases.append(((in_scale, zp_in), (out_scale, int(rng.integers(-128, 128)))))
    return cases


def graph_of(op: str, quants, shape=SHAPE):
    return branches_graph(op, [Branch(op, shape, q_in, q_out) for q_in, q_out in quants])


# --- ABS ---

ABS_SPECIAL = [
    ((0.05, -128), (0.05, -128)),   # equal scales: no rescale, |x + 128| - 128 saturates at 127
    ((0.05, 127), (0.05, 127)),     # equal scales, every |x - 127| + 127 saturates
    ((0.02, 0), (0.02, -128)),      # equal scales, full output range
    ((0.5, 3), (0.01, -100)),       # input much coarser: the rescale shifts left
    ((0.01, -7), (2.0, 0)),         # input much finer: large right shift
    ((1e-6, 5), (1e4, 9)),          # ratio below 2^-32: TFLM's multiplier is 0, every output the zero point
    ((0.1, 0), (float(np.nextafter(np.float32(0.1), np.float32(1))), 0)),  # one float32 ulp apart: rescaled
]


def test_abs_random_quantizations_exhaustive():
    assert_exhaustively_bit_exact(graph_of("abs", random_quants("abs", 20)))


def test_abs_special_cases_exhaustive():
    assert qmath.abs_rescale(0.05, 0.05) is None
    assert qmath.abs_rescale(1e-6, 1e4) == (0, 0)
    assert qmath.abs_rescale(0.5, 0.01)[1] > 0
    assert_exhaustively_bit_exact(graph_of("abs", ABS_SPECIAL))


# --- RSQRT: TFLM's Invoke fails below the input zero point ---

def _records_at_or_above(graph, n: int, seed: int):
    """Edge records and random ones, every input drawn from [its zero point, 127]."""
    rng = np.random.default_rng(seed)
    records = []
    for r in range(n):
        record = []
        for i in graph.inputs:
            t = graph.tensors[i]
            low = t.quant.zp
            if r == 0:  # every valid value, repeated
                values = np.resize(np.arange(low, 128), t.shape)
            elif r == 1:
                values = np.full(t.shape, low)
            else:
                values = rng.integers(low, 128, size=t.shape, endpoint=False)
            record.append(values.astype(np.int8))
        records.append(record)
    return records




RSQRT_SPECIAL = [
    ((1.0, -128), (1.0 / 16, -128)),   # 1/sqrt(k) for k = 0..255 on 1/16 steps
    ((0.01, -128), (0.05, 0)),
    ((4.0, -128), (0.002, -128)),      # outputs saturate at 127
    ((1e-4, -128), (0.5, 100)),        # 1/sqrt tiny scale: large outputs
    ((30.0, -128), (1e-3, -128)),
]


def test_rsqrt_every_input_at_zero_point_minus_128():
    """Zero point -128: all 256 inputs are valid for TFLM (zero and positive reals)."""
    assert_exhaustively_bit_exact(graph_of("rsqrt", random_quants("rsqrt", 16, in_zero_point=-128) + RSQRT_SPECIAL))


def test_rsqrt_other_zero_points_on_valid_inputs():
    quants = random_quants("rsqrt-zp", 12) + [((0.05, 127), (0.1, -3)), ((0.05, 0), (0.01, 0))]
    graph = graph_of("rsqrt", quants, shape=(3, 256))
    assert_records_exact(graph, _records_at_or_above(graph, 8, seed=1))


def test_rsqrt_below_zero_point_tflm_fails_tinyq_writes_the_next_value(capfd):
    graph = graph_of("rsqrt", [((0.05, 10), (0.1, -20))], shape=(4,))
    with pytest.raises(TinyqError, match="TFLM failed to run the model: Node RSQRT .*Rsqrt is only defined for "
                                         "positive values"):  # TFLM's log, quoted in the one line
        tflm_run(write_model(graph), [[np.array([11, 12, 9, 13], dtype=np.int8)]])
    assert capfd.readouterr().err == ""
    (k,) = lower_graph(graph).ops
    table = k.const("table")
    at = lambda v: int(table[np.uint8(np.int8(v))])  # noqa: E731
    assert all(at(v) == at(11) for v in range(-128, 10))
    assert at(10) == 127 and at(11) != at(12)


# --- ELU ---

ELU_SPECIAL = [
    ((0.1, 127), (0.004, 127)),      # every input at or below zero: exp(x) - 1 only, output saturates at -128
    ((0.2, -128), (0.2, -128)),      # every input at or above zero: identity
    ((1.0, 0), (1.0 / 128, 0)),      # exp(-k) - 1 for k = 1..128 (expf's large-magnitude range)
    ((1e-3, 5), (1e-3, 5)),          # exp(x) - 1 at tiny x: float32 cancellation near zero
    ((0.05, 30), (1e-4, 0)),         # tiny output scale: most outputs saturate
    ((3.0, -60), (50.0, -128)),      # x < -17: exp(x) - 1 is -1.0f exactly
]


def test_elu_random_quantizations_exhaustive():
    assert_exhaustively_bit_exact(graph_of("elu", random_quants("elu", 24)))


def test_elu_special_cases_exhaustive():
    assert_exhaustively_bit_exact(graph_of("elu", ELU_SPECIAL))


# Quantizations on which TFLM's float32 arithmetic gives another table than nearby alternatives:
# an input where glibc's expf is not exp() correctly rounded, landing next to a rounding boundary
# (found by search), and scales where float32 steps differ from the same formula in double.
ELU_NOT_CORRECTLY_ROUNDED_EXP = [((0.050612445920705795, 0), (0.002407462103292346, 0)),
                                 ((0.006302476394921541, 0), (0.00030647110543213785, 0)),
                                 ((0.020948784425854683, 0), (0.0010112625313922763, 0))]
ELU_NOT_DOUBLE = [((0.0038188633043318987, 4), (0.0020989172626286745, -103)),
                  ((0.0023007707204669714, -31), (0.0005856507341377437, -128)),
                  ((0.006068291608244181, 14), (0.01930195838212967, -2))]


def _correctly_rounded_elu(x):
    return np.where(x < 0, np.exp(x.astype(np.float64)).astype(np.float32) - np.float32(1), x)


def _double_elu_table(q_in, q_out):
    d = q_in[0] * (qmath.INT8_VALUES - q_in[1]).astype(np.float64)
    t = np.where(d < 0, np.expm1(np.minimum(d, 0)), d) / q_out[0]
    return qmath.lut_order(np.clip(np.sign(t) * np.floor(np.abs(t) + 0.5) + q_out[1], -128, 127))


def test_elu_tables_are_tflm_float32_arithmetic_not_an_approximation_of_it():
    """Each case tells TFLM's arithmetic from an alternative, and TFLM agrees with tinyq."""
    for q_in, q_out in ELU_NOT_CORRECTLY_ROUNDED_EXP:
        ours = qmath.float_lut_int8(*q_in, *q_out, elu_f32)
        assert not np.array_equal(ours, qmath.float_lut_int8(*q_in, *q_out, _correctly_rounded_elu))
    for q_in, q_out in ELU_NOT_DOUBLE:
        assert not np.array_equal(qmath.float_lut_int8(*q_in, *q_out, elu_f32), _double_elu_table(q_in, q_out))
    assert_exhaustively_bit_exact(graph_of("elu", ELU_NOT_CORRECTLY_ROUNDED_EXP + ELU_NOT_DOUBLE))


def test_elu_rounding_ties_away_from_zero():
    """Scales where exp(x) - 1 lands on halves of the output step: std::round's ties go away from 0."""
    table = qmath.float_lut_int8(0.5, 0, 0.25, 0, lambda x: x)
    assert table[np.uint8(1)] == 2 and table[np.uint8(np.int8(-1))] == -2
    halves = qmath.float_lut_int8(1.0, 0, 2.0, 0, lambda x: x)  # x/2: 0.5 -> 1, -0.5 -> -1, 1.5 -> 2
    assert [int(halves[np.uint8(np.int8(v))]) for v in (1, -1, 3, -3)] == [1, -1, 2, -2]
    assert qmath.roundf(np.float32(0.49999997)) == 0  # floor(x + 0.5) would give 1


# --- the tables' arithmetic (tests/test_libm_f32.py checks expf against the C library) ---

def test_inv_sqrt_multiplier_on_known_values():
    """GetInvSqrtQuantizedMultiplierExp: m * 2^shift / 2^31 ~ 1/sqrt(x), and x <= 1 as 1."""
    assert qmath.inv_sqrt_quantized_multiplier_exp(0) == (2**31 - 1, 0)
    assert qmath.inv_sqrt_quantized_multiplier_exp(-5) == (2**31 - 1, 0)
    for x in (2, 3, 255, 65025, 2**29, 2**31 - 1):
        m, left_shift = qmath.inv_sqrt_quantized_multiplier_exp(x)  # reverse_shift -1: a left shift
        assert abs(m * 2.0**left_shift / 2**31 * np.sqrt(x) - 1) < 1e-5, x


# --- refused ---

def _single(op: str, dtype="int8", q_in=(0.1, 0), q_out=(0.1, 0), out_shape=(2, 3)):
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype=dtype, scale=q_in[0], zero_point=q_in[1])
    y = b.activation(out_shape, dtype=dtype, scale=q_out[0], zero_point=q_out[1])
    b.op(op, [x], [y])
    return b.build([y])


@pytest.mark.parametrize("op", ["abs", "rsqrt", "elu"])
def test_refuses_int16_and_other_sizes(op):
    if op == "elu":  # int16 ABS and RSQRT: tests/test_abs_rsqrt_s16.py
        with pytest.raises(UnsupportedError, match="int16; only int8"):
            lower_graph(_single(op, dtype="int16"))
    with pytest.raises(UnsupportedError, match="differ in size"):
        lower_graph(_single(op, out_shape=(7,)))


@pytest.mark.parametrize("op, q_in, q_out, message", [
    ("abs", (1.0, 0), (1e-8, 0), "int32 rescaling overflows"),
    ("rsqrt", (1e-6, 0), (1e-9, 0), "outside"),
    ("rsqrt", (1e4, 0), (1e4, 0), "outside"),
    ("elu", (1.0, 0), (1e-9, 0), "beyond int32"),
])
def test_refuses_implausible_scales(op, q_in, q_out, message):
    with pytest.raises(UnsupportedError, match=message):
        lower_graph(_single(op, q_in=q_in, q_out=q_out))


@pytest.mark.parametrize("op", ["neg", "square", "sqrt", "exp", "log"])
def test_float_only_ops_are_refused_as_tflm_refuses_them(op):
    graph = _single(op)
    with pytest.raises(UnsupportedError, match=f"{op.upper()} on int8 is not supported: TFLM's kernel is float32"):
        lower_graph(graph)
    with pytest.raises(Exception):  # TFLM itself has no int8 kernel: Prepare or Invoke fails
        tflm_run(write_model(graph), make_inputs(graph, 1))


# --- the kernel ---

def test_one_table_kernel_in_place():
    graph = graph_of("abs", [((0.1, 3), (0.05, -7))], shape=(1, 5, 5, 8))
    (bound,) = bound_ops(graph)
    assert bound.kernel.name == "lut" and bound.kernel.inplace is not None
    assert [c.name for c in bound.consts] == ["table"] and bound.consts[0].values.shape == (256,)


def test_chain_of_table_ops():
    """ABS -> ELU -> RSQRT: buffers reused across ops (outputs written over dying inputs)."""
    b = GraphBuilder("chain")
    x = b.input((3, 7, 11), scale=0.04, zero_point=-9)
    t1 = b.activation((3, 7, 11), scale=0.05, zero_point=-128)
    t2 = b.activation((3, 7, 11), scale=0.03, zero_point=-128)
    y = b.activation((3, 7, 11), scale=0.02, zero_point=-60)
    b.op("abs", [x], [t1])
    b.op("elu", [t1], [t2])
    b.op("rsqrt", [t2], [y])
    compiled = assert_bit_exact(b.build([y]), n_inputs=10)
    assert [a.kind for a in compiled.plan.aliases] == ["in-place"] * 3  # one buffer for all four tensors


def test_family_on_every_target():
    """ABS, RSQRT, ELU on the host and under QEMU (Helium and ARMv6-M), with each backend (no vendor
    library has these ops: every backend falls back to the table kernel, as TFLM's CMSIS-NN build does)."""
    graph = branches_graph("lut_targets", [
        Branch("abs", (4, 64), (0.05, 7), (0.03, -100)),
        Branch("rsqrt", (4, 64), (0.02, -128), (0.04, -20)),
        Branch("elu", (4, 64), (0.06, 40), (0.03, 10)),
    ])
    assert_bit_exact_on_targets(graph, n_inputs=6, backends=("reference", "cmsis-nn", "esp-nn"))
