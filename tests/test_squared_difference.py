"""SQUARED_DIFFERENCE against TFLM: int8 over every pair of stored values (output multipliers
below and above 1, zero points at the int8 ends), every broadcast, constant operands; int32 with
wrapping squares; and the variants tinyq refuses."""

from __future__ import annotations

import numpy as np
import pytest

from broadcast_cases import BROADCASTS, Case, assert_bit_exact_on_records, side_by_side
from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq import qmath
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder

q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731

SCALES = [
    (q(0.05, 0), q(0.05, 0), q(0.2, -128)),
    (q(0.1, -128), q(0.02, 127), q(1e-6, -128)),   # output multiplier above 1
    (q(0.002, 5), q(0.3, -7), q(40.0, 127)),       # far below 1
    (q(1 / 16, 0), q(1 / 8, 0), q(1 / 64, 0)),     # powers of two: rounding ties
]


@pytest.mark.parametrize("quants", SCALES)
def test_int8_every_pair_of_values(quants):
    b = GraphBuilder("sqdiff_pairs")
    x, w = b.input((256,), **quants[0]), b.input((256,), **quants[1])
    y = b.activation((256,), **quants[2])
    b.op("squared_difference", [x, w], [y])
    values = np.arange(-128, 128, dtype=np.int8)
    assert_bit_exact_on_records(b.build([y]), [[values, np.full(256, v, np.int8)] for v in range(-128, 128)])


def test_output_multiplier_above_one_shifts_left():
    (_, _), (_, _), (_, shift) = qmath.squared_difference_rescale(0.1, 0.02, 1e-6)
    assert shift > 0


@pytest.mark.parametrize("dtype", ["int8", "int32"])
def test_every_broadcast(dtype):
    cases = [Case("squared_difference", ((3, 5, 2), (3, 5, 2)), dtype),
             Case("squared_difference", ((2, 9), (9,)), dtype, consts=(False, True)),
             Case("squared_difference", ((1, 4), (3, 1)), dtype, consts=(True, False)),
             Case("squared_difference", ((4, 3), ()), dtype, consts=(False, True))]
    cases += [Case("squared_difference", shapes, dtype) for shapes in BROADCASTS]
    assert_bit_exact(side_by_side(f"sqdiff_{dtype}", cases), n_inputs=12)


@pytest.mark.parametrize("graph_args, message", [
    (("int64",), "operands are int64; tinyq runs squared_difference on int8, int16, int32"),
    (("int8", "int32"), "output is int32, operands int8"),
])
def test_unsupported_variants(graph_args, message):
    dtype, out = (graph_args + graph_args)[:2]
    case = Case("squared_difference", ((2, 3), (2, 3)), dtype, out,
                quants=(q(0.1, 0), q(0.1, 0), q(0.1, 0) if out == "int8" else None))
    with pytest.raises(TinyqError, match=message):
        compile_graph(side_by_side("bad", [case]), get_board("host"))


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 and ARMv6-M under QEMU (no library has it: the reference kernel)."""
    cases = [Case("squared_difference", ((3, 37), (3, 37)), quants=SCALES[1]),
             Case("squared_difference", ((1, 2, 1, 1), (1, 2, 3, 17)), quants=SCALES[2]),
             Case("squared_difference", ((2, 1, 5), (4, 1)), "int32")]
    assert_bit_exact_on_targets(side_by_side("sqdiff_targets", cases), n_inputs=8)
