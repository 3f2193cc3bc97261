"""ADD_N and PRELU (int8) against TFLM: ADD_N over 2..8 inputs (constants among them, TFLM's
offset start, sums that wrap), PRELU with alpha broadcast or full, constant or computed, multipliers
above and below 1, zero points at the int8 ends; and the variants tinyq refuses."""

from __future__ import annotations

import numpy as np
import pytest

from broadcast_cases import Case, assert_bit_exact_on_records, quant, seeded, side_by_side
from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder

q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731


def _add_n(n, shape, in_q, out_q, consts=()):
    return Case("add_n", (shape,) * n, quants=(in_q,) * n + (out_q,), consts=consts)


def test_add_n_inputs_and_scales():
    cases = [_add_n(2, (3, 5), q(0.05, 3), q(0.1, -2)), _add_n(3, (2, 3, 4), q(0.02, -128), q(0.02, 127)),
             _add_n(5, (17,), q(0.1, 127), q(0.5, -128)), _add_n(8, (4, 4), q(0.01, 0), q(0.2, 0)),
             _add_n(4, (6,), q(0.07, -20), q(0.03, 11), consts=(False, True, False, True)),
             _add_n(2, (1, 1, 1, 9), q(1e-3, 5), q(1e-3, 5))]
    assert_bit_exact(side_by_side("add_n", cases), n_inputs=16)


def test_add_n_offset_start_on_every_value():
    """Every stored value in every input with a far-off zero point: TFLM's sum starts at the rescaled
    input offset instead of 0, which shows in every output."""
    b = GraphBuilder("add_n_values")
    xs = [b.input((256,), **q(0.04, -100)) for _ in range(3)]
    y = b.activation((256,), **q(0.09, 30))
    b.op("add_n", xs, [y])
    values = np.arange(-128, 128, dtype=np.int8)
    rng = seeded("add_n values")
    assert_bit_exact_on_records(b.build([y]), [[values, rng.permutation(values), np.full(256, v, np.int8)]
                                               for v in range(-128, 128, 5)])


def _prelu(shape, alpha_shape, quants, const_alpha=True):
    return Case("prelu", (shape, alpha_shape), quants=quants, consts=(False, const_alpha))


def test_prelu_alpha_shapes_and_scales():
    rng = seeded("prelu")
    cases = [_prelu((2, 5, 7, 6), (1, 1, 6), (quant(rng), quant(rng), quant(rng))),
             _prelu((1, 4, 4, 3), (4, 4, 3), (quant(rng), quant(rng), quant(rng))),
             _prelu((3, 8), (8,), (q(0.05, -128), q(0.01, 127), q(0.002, -128))),  # multipliers above 1
             _prelu((3, 8), (1,), (q(0.3, 127), q(0.5, -128), q(0.9, 127))),
             _prelu((2, 6), (2, 6), (quant(rng), quant(rng), quant(rng)), const_alpha=False),
             _prelu((5,), (2, 5), (quant(rng), quant(rng), quant(rng)))]  # alpha larger than the input
    assert_bit_exact(side_by_side("prelu", cases, rng), n_inputs=16)


def test_prelu_every_pair_of_values():
    b = GraphBuilder("prelu_pairs")
    x, alpha = b.input((256,), **q(0.03, 17)), b.input((256,), **q(0.008, -90))
    y = b.activation((256,), **q(0.02, -5))
    b.op("prelu", [x, alpha], [y])
    values = np.arange(-128, 128, dtype=np.int8)
    assert_bit_exact_on_records(b.build([y]), [[values, np.full(256, v, np.int8)] for v in range(-128, 128)])


@pytest.mark.parametrize("case, message", [
    (Case("add_n", ((2, 3), (2, 3)), quants=(q(0.1, 0), q(0.1, 1), q(0.1, 0))), "quantized unlike the first"),
    (Case("add_n", ((2, 3), (3,)), out_shape=(2, 3)), "does not broadcast"),
    (Case("add_n", ((2, 3), (2, 3)), quants=(q(1.0, 0), q(1.0, 0), q(1e-7, 0))), "output scale is too small"),
    (Case("add_n", ((2, 3), (2, 3)), "int32"), "is int32; only int8"),
    (Case("prelu", ((2, 3), (2, 3)), "int16", quants=(q(0.1, 0),) * 3), "int16 PRELU takes an int8 alpha"),
    (Case("prelu", ((2, 3), (4, 3)), out_shape=(2, 3)), "do not broadcast"),
])
def test_unsupported_variants(case, message):
    with pytest.raises(TinyqError, match=message):
        compile_graph(side_by_side("bad", [case]), get_board("host"))


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 and ARMv6-M under QEMU (no library has them: the reference kernels)."""
    rng = seeded("add_n prelu targets")
    cases = [_add_n(3, (3, 37), q(0.05, -128), q(0.1, 5)), _add_n(2, (19,), q(0.02, 7), q(0.02, 7), consts=(False, True)),
             _prelu((2, 5, 7, 6), (1, 1, 6), (quant(rng), quant(rng), quant(rng))),
             _prelu((3, 8), (8,), (q(0.05, -128), q(0.01, 127), q(0.002, -128)))]
    assert_bit_exact_on_targets(side_by_side("add_n_prelu_targets", cases, rng), n_inputs=8)
