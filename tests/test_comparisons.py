"""EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL against TFLM: int8 (rescaled to a
common scale first), int32, int64 and bool, every broadcast pattern, constant operands, scales
where the rescaling merges or splits values; and the variants tinyq refuses."""

from __future__ import annotations

import pytest

from broadcast_cases import BROADCASTS, Case, seeded, side_by_side
from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.comparisons import OUTCOMES

OPS = tuple(OUTCOMES)


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
def test_every_op_and_broadcast(dtype):
    cases = []
    for op in OPS:
        cases += [Case(op, ((3, 5, 2), (3, 5, 2)), dtype, "bool"), Case(op, ((2, 9), (9,)), dtype, "bool",
                                                                           consts=(False, True))]
        cases += [Case(op, shapes, dtype, "bool") for shapes in BROADCASTS[::2] if op != "equal"]
        cases += [Case(op, shapes, dtype, "bool") for shapes in BROADCASTS if op == "equal"]
        cases += [Case(op, ((4, 3), ()), dtype, "bool", consts=(False, True))]
    assert_bit_exact(side_by_side(f"compare_{dtype}", cases), n_inputs=12)


def test_bool_equality():
    cases = [Case(op, shapes, "bool", "bool") for op in ("equal", "not_equal")
             for shapes in (((4, 7), (4, 7)), ((2, 3, 1), (1, 1, 5)), ((6,), (1,)))]
    cases.append(Case("equal", ((3, 4), (4,)), "bool", "bool", consts=(False, True)))
    assert_bit_exact(side_by_side("compare_bool", cases), n_inputs=12)


def test_int8_rescaling_decides_ties():
    """Equal quantizations (the order of the stored values), scales so small that the 8-bit
    headroom rounds many values together, offsets at the int8 ends, one side a constant."""
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    quants = [(q(0.05, 0), q(0.05, 0)), (q(0.05, 3), q(0.05, -3)), (q(1e-4, -128), q(3e-4, 127)),
              (q(0.9999, 127), q(0.5, -128)), (q(0.02, 10), q(0.0201, 10)), (q(2.0 ** -20, 0), q(2.0 ** -21, 5))]
    cases = [Case(op, ((8, 16), (8, 16)), quants=(qa, qb, None), out_dtype="bool") for op in OPS for qa, qb in quants]
    cases += [Case(op, ((16,), (16,)), quants=(q(0.01, 0), q(0.03, 0), None), out_dtype="bool",
                   consts=(False, True), values={1: list(range(-8, 8))}) for op in OPS]
    assert_bit_exact(side_by_side("compare_ties", cases, seeded("ties")), n_inputs=16)


def _graph(op, dtype, out="bool", scale=0.1, shapes=((2, 3), (2, 3))):
    q = dict(scale=scale, zero_point=0) if dtype == "int8" else {}
    return side_by_side("bad", [Case(op, shapes, dtype, out, quants=(q, q, None), out_shape=shapes[0])])


@pytest.mark.parametrize("graph_args, message", [
    (("greater", "int16"), "operands are int16; tinyq runs greater on int8, int32, int64"),
    (("less", "uint8"), "operands are uint8"),
    (("greater_equal", "bool"), "operands are bool; tinyq runs greater_equal"),
    (("equal", "int8", "int8"), "output is int8; TFLM's comparisons write bool"),
    (("less_equal", "int8", "bool", 1.0), "has scale 1; TFLM's int8 comparison needs scales below 1"),
    (("equal", "int32", "bool", 0.1, ((2, 3), (3, 2))), "do not broadcast"),
])
def test_unsupported_variants(graph_args, message):
    with pytest.raises(TinyqError, match=message):
        compile_graph(_graph(*graph_args), get_board("host"))


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 and ARMv6-M under QEMU (no library has comparisons: the reference kernel)."""
    cases = [Case(op, shapes, dtype, "bool") for op, (shapes, dtype) in zip(OPS, [
        (((3, 37), (3, 37)), "int8"), (((1, 2, 1, 1), (1, 2, 3, 17)), "int8"), (((2, 1, 3), (4, 1)), "int32"),
        (((5,), (2, 5)), "int64"), (((3, 1), (1, 4)), "int8"), (((2, 2), (2, 2)), "int32")])]
    cases.append(Case("equal", ((4, 3), (3,)), "bool", "bool"))
    assert_bit_exact_on_targets(side_by_side("compare_targets", cases), n_inputs=6)
