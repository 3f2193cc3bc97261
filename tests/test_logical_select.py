"""LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT and SELECT_V2 against TFLM: bool tensors (one byte each)
as graph inputs, outputs, constants and intermediate results of comparisons; every broadcast
pattern of two and three operands; and the variants tinyq refuses."""

from __future__ import annotations

import numpy as np
import pytest

from broadcast_cases import BROADCASTS, Case, quant, seeded, side_by_side
from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.ops.ndloops import broadcast_nests
from tinyq.tflite.builder import GraphBuilder

THREE_WAY = [  # condition, x, y
    ((2, 3, 4), (2, 3, 4), (2, 3, 4)),
    ((2, 1, 4), (3, 1), (1,)),
    ((1,), (2, 5), (5,)),
    ((3, 1, 1), (1, 4, 1), (1, 1, 5)),
    ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 2, 1), (1, 1, 1, 1, 1, 2)),
    ((4, 6), (4, 6), ()),
    ((), (1,), (1, 1)),  # TFLM's mixed-rank scalars: one element
]


def test_logical_ops_every_broadcast():
    cases = []
    for op in ("logical_and", "logical_or"):
        cases += [Case(op, ((3, 7), (3, 7)), "bool"), Case(op, ((2, 6), (6,)), "bool", consts=(False, True))]
        cases += [Case(op, shapes, "bool") for shapes in BROADCASTS]
    cases += [Case("logical_not", ((5, 3),), "bool"), Case("logical_not", ((1,),), "bool")]
    assert_bit_exact(side_by_side("logical", cases), n_inputs=12)


def _select_cases(dtype: str) -> list[Case]:
    # rank-0 operands are constants: verify's records cannot feed a rank-0 graph input to TFLM
    cases = [Case("select_v2", shapes, dtype, consts=tuple(s == () for s in shapes)) for shapes in THREE_WAY]
    cases.append(Case("select_v2", ((2, 6), (2, 6), (6,)), dtype, consts=(True, False, True)))
    return cases


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_select_v2_every_broadcast(dtype):
    assert_bit_exact(side_by_side(f"select_{dtype}", _select_cases(dtype)), n_inputs=12)


def test_bools_between_ops():
    """A comparison's bool output feeding LOGICAL_NOT, LOGICAL_AND and SELECT_V2's condition: bool
    intermediates in the arena, computed where the op writes them over its own operand."""
    rng = seeded("bool chain")
    b = GraphBuilder("bool_chain")
    q = quant(rng)
    x, w = b.input((4, 5), **q), b.input((5,), **quant(rng))
    m = b.input((4, 1), dtype="bool")
    gt, inv, both = (b.activation((4, 5), dtype="bool") for _ in range(3))
    y = b.activation((4, 5), **q, name="selected")
    b.op("greater", [x, w], [gt])
    b.op("logical_not", [gt], [inv])
    b.op("logical_and", [inv, m], [both])
    b.op("select_v2", [both, x, b.const(np.full((1,), 7), "int8", **q)], [y])
    assert_bit_exact(b.build([y, both]), n_inputs=12)


def test_select_nests_step_three_operands_together():
    cond_x, y = broadcast_nests([(2, 1, 4), (3, 1), (1,)], (2, 3, 4))
    assert cond_x.shape == y.shape == (2, 3, 4)
    assert (cond_x.stride_a, cond_x.stride_b, y.stride_a, y.stride_b) == ((4, 0, 1), (0, 1, 0), (0, 0, 0), (0, 0, 0))
    same, pad = broadcast_nests([(2, 3, 4)] * 3, (2, 3, 4))
    assert (same.shape, same.stride_a, pad.stride_a) == ((24,), (1,), (1,))


@pytest.mark.parametrize("case, message", [
    (Case("logical_and", ((2, 3), (2, 3)), "int8"), "operands are int8; tinyq runs logical_and on bool"),
    (Case("logical_or", ((2, 3), (2, 3)), "bool", "int8"), "output is int8; TFLM's logical ops write bool"),
    (Case("logical_not", ((2, 3),), "int32"), "input is int32; TFLM's LOGICAL_NOT takes bool only"),
    (Case("select_v2", ((2, 3), (2, 3), (2, 3)), "int32"), "values are int32; TFLM's SELECT_V2 runs int8, int16"),
    (Case("select_v2", ((2, 3), (4, 3), (2, 3)), "int8", out_shape=(2, 3)), "do not broadcast"),
    (Case("select_v2", ((2, 3), (2, 3), (2, 3)), "int8", out_shape=(6,)), "not the broadcast shape"),
])
def test_unsupported_variants(case, message):
    with pytest.raises(TinyqError, match=message):
        compile_graph(side_by_side("bad", [case]), get_board("host"))


def test_select_needs_a_bool_condition():
    b = GraphBuilder("bad_cond")
    c, x, w = b.input((3,), scale=0.1, zero_point=0), b.input((3,), scale=0.1, zero_point=0), \
        b.input((3,), scale=0.1, zero_point=0)
    y = b.activation((3,), scale=0.1, zero_point=0)
    b.op("select_v2", [c, x, w], [y])
    with pytest.raises(TinyqError, match="condition is int8; TFLM's SELECT_V2 takes a bool condition"):
        compile_graph(b.build([y]), get_board("host"))


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 and ARMv6-M under QEMU (no library has these ops: the reference kernels)."""
    cases = [Case("logical_and", ((3, 37), (3, 37)), "bool"), Case("logical_or", ((1, 2, 1, 1), (1, 2, 3, 17)), "bool"),
             Case("logical_not", ((29,),), "bool")]
    cases += [Case("select_v2", shapes, dtype) for shapes, dtype in zip(THREE_WAY[:5], ("int8", "int16", "float32",
                                                                                     "int8", "int16"))]
    assert_bit_exact_on_targets(side_by_side("logical_targets", cases), n_inputs=6)
