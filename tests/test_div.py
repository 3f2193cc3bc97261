"""DIV against TFLM: int8 over every pair of stored values for scale ratios across the range tinyq
accepts (zero divisors and the rounding shifts past 31 included, where tinyq reproduces the golden
model's x86 result), every fused activation and broadcast; int32 on chosen records (TFLM traps on a
zero divisor); FLOOR_DIV and FLOOR_MOD refused with TFLM's reason."""

from __future__ import annotations

import numpy as np
import pytest

from broadcast_cases import BROADCASTS, Case, assert_bit_exact_on_records, host_outputs, seeded, side_by_side
from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq import qmath
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731

# (numerator, divisor, output) quantizations: output shifts from -6 to 20; zero points at the ends
SCALES = [
    (q(0.05, 0), q(0.05, -128), q(0.02, 0)),       # shift 6: a zero numerator over a large divisor rounds past 31
    (q(0.01, 0), q(0.1, -128), q(0.5, 0)),         # shift -2: small numerators too
    (q(0.002, 3), q(0.2, 127), q(0.9, -128)),      # shift -6
    (q(0.3, -128), q(0.001, 0), q(0.0005, 127)),   # shift 20
    (q(1 / 16, 0), q(1 / 16, 0), q(1 / 32, 0)),    # exact powers of two: ties
    (q(0.5, 0), q(0.25, -128), q(0.125, 3)),
]


def _all_pairs_graph(quants, activation="NONE"):
    b = GraphBuilder("div_pairs")
    x, w = b.input((256,), **quants[0]), b.input((256,), **quants[1])
    y = b.activation((256,), **quants[2])
    b.op("div", [x, w], [y], fused_activation_function=activation)
    return b.build([y])


ALL_VALUES = np.arange(-128, 128, dtype=np.int8)
ALL_PAIRS = [[ALL_VALUES, np.full(256, v, np.int8)] for v in range(-128, 128)]  # every numerator, one divisor


@pytest.mark.parametrize("quants", SCALES, ids=lambda s: f"shift{qmath.div_rescale(s[0]['scale'], s[1]['scale'], s[2]['scale'])[1]}")
def test_int8_every_pair_of_values(quants):
    assert_bit_exact_on_records(_all_pairs_graph(quants), ALL_PAIRS)


def test_int8_activations_and_broadcasts():
    cases = [Case("div", ((3, 5, 2), (3, 5, 2)), options=dict(fused_activation_function=a)) for a in ACTIVATIONS]
    cases += [Case("div", shapes, options=dict(fused_activation_function=ACTIVATIONS[i % 4]))
              for i, shapes in enumerate(BROADCASTS)]
    cases += [Case("div", ((2, 9), (9,)), consts=(False, True)), Case("div", ((1, 4), (3, 1)), consts=(True, False)),
              Case("div", ((4, 3), ()), consts=(False, True), values={1: [-3]})]
    assert_bit_exact(side_by_side("div_int8", cases), n_inputs=16)


def _int32_graph():
    """int32 DIV with activation and constant divisors, every activation, broadcasts."""
    rng = seeded("div int32")
    cases = [Case("div", ((4, 6), (4, 6)), "int32", options=dict(fused_activation_function=a)) for a in ACTIVATIONS]
    cases += [Case("div", ((2, 3, 4), (3, 1)), "int32"), Case("div", ((5,), (2, 5)), "int32"),
              Case("div", ((3, 4), (4,)), "int32", consts=(False, True),
                   values={1: rng.integers(2, 1000, 4) * rng.choice([-1, 1], 4)})]
    return side_by_side("div_int32", cases, rng)


def _nonzero_records(graph, n, rng):
    """Full-range numerators, divisors away from 0 and -1 (TFLM traps on x / 0 and INT32_MIN / -1)."""
    records = []
    for r in range(n):
        record = []
        for position, i in enumerate(graph.inputs):
            t = graph.tensors[i]
            is_divisor = any(op.inputs[1] == i for op in graph.operators)
            if is_divisor:
                v = rng.integers(2, 2**31 if r % 2 else 100, size=t.shape, dtype=np.int64)
                record.append((v * rng.choice([-1, 1], size=t.shape)).astype(np.int32))
            else:
                record.append(rng.integers(-2**31, 2**31, size=t.shape, dtype=np.int64).astype(np.int32))
        records.append(record)
    return records


def test_int32_on_divisors_tflm_accepts():
    graph = _int32_graph()
    assert_bit_exact_on_records(graph, _nonzero_records(graph, 12, seeded("div records")))


def test_int32_zero_divisor_gives_zero_without_trapping():
    """Where TFLM's x86 build traps (SIGFPE) the generated code writes 0 and INT32_MIN / -1 wraps, as
    Arm's SDIV does; nothing to compare with TFLM, so this checks tinyq's documented values."""
    b = GraphBuilder("div_zero")
    x, w = b.input((4,), dtype="int32"), b.input((4,), dtype="int32")
    y = b.activation((4,), dtype="int32")
    b.op("div", [x, w], [y])
    record = [np.array([7, -7, -2**31, 9], np.int32), np.array([0, 0, -1, 2], np.int32)]
    _, (outputs,) = host_outputs(b.build([y]), [record])
    assert outputs[0].tolist() == [0, 0, -2**31, 4]


def _single(dtype="int8", activation="NONE", quants=(q(0.1, 0), q(0.1, 0), q(0.1, 0)), op="div"):
    b = GraphBuilder("bad")
    x, w = (b.input((2, 3), dtype=dtype, **(qq or {})) for qq in quants[:2])
    y = b.activation((2, 3), dtype=dtype, **(quants[2] or {}))
    b.op(op, [x, w], [y], **({"fused_activation_function": activation} if op == "div" else {}))
    return b.build([y])


@pytest.mark.parametrize("graph, message", [
    (_single("int32", quants=(q(0.1, 0), None, None)), "int32 operand 0 \\(input0\\) is quantized"),
    (_single("int16"), "operands are int16; tinyq runs div on int8, int32"),
    (_single(activation="TANH"), "fused activation TANH"),
    (_single("int32", "SIGN_BIT", (None,) * 3), "fused activation SIGN_BIT"),
    # TFLM runs these, but with a rounding shift C leaves undefined: no one result to match, and the line says so
    (_single(quants=(q(0.5, 0), q(1e-4, 0), q(1e-4, 0))), "tinyq reproduces TFLM's int8 DIV for ratios.*undefined"),
    (_single(quants=(q(1e-8, 0), q(0.5, 0), q(0.9, 0))), "tinyq reproduces TFLM's int8 DIV for ratios.*undefined"),
    (_single("int32", quants=(None,) * 3, op="floor_div"), "FLOOR_DIV on int32 is not supported: TFLM's kernel runs "
                                                          "float32 only"),
    (_single("int8", op="floor_mod"), "FLOOR_MOD on int8 is not supported"),
])
def test_unsupported_variants(graph, message):
    with pytest.raises(TinyqError, match=message):
        compile_graph(graph, get_board("host"))


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 and ARMv6-M under QEMU (no library divides: the reference kernel), the
    shifts past 31 and zero divisors among the edge records."""
    cases = [Case("div", ((3, 37), (3, 37)), quants=SCALES[0]), Case("div", ((1, 2, 1, 1), (1, 2, 3, 17)),
                                                                    quants=SCALES[1]),
             Case("div", ((2, 1, 5), (4, 1)), quants=SCALES[3], options=dict(fused_activation_function="RELU")),
             Case("div", ((6, 4), (4,)), "int32", consts=(False, True), values={1: [3, -7, 1000, -2]})]
    assert_bit_exact_on_targets(side_by_side("div_targets", cases), n_inputs=8)
