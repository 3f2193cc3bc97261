"""SQUARED_DIFFERENCE on int16 (TFLM's squared_difference.cc: PrepareQuantized with left shift 0,
zero points 0) against TFLM: every int16 value against operands across the range, scale pairs equal
and unequal, output multipliers above and below 1, broadcast and constant operands; zero points off 0
refused as TFLM's Prepare refuses them."""

from __future__ import annotations

import numpy as np
import pytest

from broadcast_cases import assert_bit_exact_on_records
from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq.errors import UnsupportedError
from tinyq.golden import tflm_run
from tinyq.lower import lower_graph
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

S16 = lambda s, z=0: dict(dtype="int16", scale=s, zero_point=z)  # noqa: E731


def _graph(a_shape, b_shape, scales, const_b=False, zero_points=(0, 0, 0), seed=0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("squared_difference_s16")
    x = b.input(a_shape, **S16(scales[0], zero_points[0]))
    if const_b:
        other = b.const(rng.integers(-32768, 32768, b_shape).astype(np.int16), **S16(scales[1], zero_points[1]))
    else:
        other = b.input(b_shape, **S16(scales[1], zero_points[1]))
    y = b.activation(np.broadcast_shapes(a_shape, b_shape), **S16(scales[2], zero_points[2]))
    b.op("squared_difference", [x, other], [y])
    return b.build([y])


CASES = [  # (a shape, b shape, (s1, s2, s_out), b constant)
    ((2, 4, 4, 8), (2, 4, 4, 8), (0.001, 0.001, 0.01), False),    # equal input scales
    ((2, 4, 4, 8), (8,), (0.002, 0.0005, 0.001), True),          # per-channel constant, multiplier above 1
    ((3, 1, 5), (1, 4, 5), (1e-4, 3e-4, 0.5), False),             # both broadcast, tiny output multiplier
    ((6, 7), (1,), (0.03, 0.01, 0.02), True),                     # scalar, outputs saturate
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_shapes_and_scales(case):
    a_shape, b_shape, scales, const_b = CASES[case]
    compiled = assert_bit_exact(_graph(a_shape, b_shape, scales, const_b, seed=case), n_inputs=16)
    assert {k.kernel for k in compiled.lowered.ops} == {"squared_difference"}


@pytest.mark.parametrize("scales", [(7e-4, 7e-4, 7e-4), (0.001, 0.0037, 0.05)])
def test_every_int16_value_against_operands_across_the_range(scales):
    graph = _graph((65536,), (65536,), scales)
    values = np.arange(-32768, 32768, dtype=np.int16)
    records = [[values, np.full(65536, v, np.int16)] for v in (-32768, -12345, -1, 0, 1, 999, 32767)]
    assert_bit_exact_on_records(graph, records)


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 and ARMv6-M under QEMU."""
    assert_bit_exact_on_targets(_graph((2, 4, 4, 8), (8,), (0.002, 0.0005, 0.001), const_b=True))


@pytest.mark.parametrize("zero_points", [(3, 0, 0), (0, -2, 0), (0, 0, 1)])
def test_zero_points_off_0_are_refused_as_tflm_refuses_them(zero_points):
    graph = _graph((2, 3), (2, 3), (0.01, 0.01, 0.01), zero_points=zero_points)
    with pytest.raises(UnsupportedError, match="int16 SQUARED_DIFFERENCE requires 0"):
        lower_graph(graph)
    with pytest.raises(Exception, match="could not load"):
        tflm_run(write_model(graph), [[np.zeros((2, 3), np.int16)] * 2])
