"""PRELU with int16 input and output and an int8 alpha (TFLM's prelu.cc int16 case) against TFLM.

PreluPrepare requires an int8 alpha when the output is int16 and checks no zero point, so the cases
take zero points off 0 as well as 16x8's 0, multipliers above and below 1, alpha per channel,
scalar, full-shape and computed; every int16 input value against every int8 alpha value's sign."""

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
S8 = lambda s, z=0: dict(dtype="int8", scale=s, zero_point=z)  # noqa: E731


def _prelu(shape, alpha_shape, x_q, alpha_q, y_q, const_alpha=True, seed=0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("prelu_s16")
    x = b.input(shape, **x_q)
    if const_alpha:
        alpha = b.const(rng.integers(-128, 128, alpha_shape).astype(np.int8), **alpha_q)
    else:
        alpha = b.input(alpha_shape, **alpha_q)
    y = b.activation(np.broadcast_shapes(shape, alpha_shape), **y_q)
    b.op("prelu", [x, alpha], [y])
    return b.build([y])


CASES = [  # (shape, alpha shape, x, alpha, y quantization, alpha constant)
    ((2, 5, 7, 6), (1, 1, 6), S16(0.001), S8(0.01), S16(0.002), True),          # 16x8: zero points 0
    ((1, 4, 4, 3), (4, 4, 3), S16(0.003), S8(0.02, 5), S16(0.001), True),        # grows: multiplier above 1
    ((3, 8), (8,), S16(0.05, -300), S8(0.01, 127), S16(0.002, 1000), True),     # zero points TFLM allows
    ((3, 8), (1,), S16(2e-4), S8(0.5, -128), S16(1e-4), True),                  # scalar alpha, saturates
    ((2, 6), (2, 6), S16(0.01), S8(0.03, -7), S16(0.02), False),                # alpha computed
    ((5,), (2, 5), S16(0.004), S8(0.004), S16(0.004), False),                   # alpha larger than the input
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_shapes_scales_and_zero_points(case):
    shape, alpha_shape, x_q, alpha_q, y_q, const_alpha = CASES[case]
    compiled = assert_bit_exact(_prelu(shape, alpha_shape, x_q, alpha_q, y_q, const_alpha, seed=case), n_inputs=16)
    assert {k.kernel for k in compiled.lowered.ops} == {"prelu"}


def test_every_int16_value_against_alphas_across_int8():
    graph = _prelu((65536,), (65536,), S16(0.0007), S8(0.013, -3), S16(0.0011), const_alpha=False)
    values = np.arange(-32768, 32768, dtype=np.int16)
    records = [[values, np.full(65536, a, np.int8)] for a in (-128, -4, -3, -1, 0, 1, 77, 127)]
    assert_bit_exact_on_records(graph, records)


@pytest.mark.slow
def test_on_every_target():
    """Host, Cortex-M55 and ARMv6-M under QEMU."""
    assert_bit_exact_on_targets(_prelu((2, 5, 7, 6), (1, 1, 6), S16(0.001), S8(0.01), S16(0.002)))
    assert_bit_exact_on_targets(_prelu((3, 8), (8,), S16(0.05, -300), S8(0.01, 127), S16(0.002, 1000)))


def test_int16_alpha_is_refused_as_tflm_refuses_it():
    graph = _prelu((2, 3), (3,), S16(0.01), S16(0.01), S16(0.01), const_alpha=False)
    with pytest.raises(UnsupportedError, match="int16 PRELU takes an int8 alpha"):
        lower_graph(graph)
    with pytest.raises(Exception, match="could not load"):
        tflm_run(write_model(graph), [[np.zeros((2, 3), np.int16), np.zeros((3,), np.int16)]])


def test_int16_input_with_int8_output_is_refused():
    b = GraphBuilder("prelu_mixed")
    x = b.input((2, 3), **S16(0.01))
    alpha = b.const(np.ones(3, np.int8), **S8(0.01))
    y = b.activation((2, 3), **S8(0.01))
    b.op("prelu", [x, alpha], [y])
    with pytest.raises(UnsupportedError, match="beside int16"):
        lower_graph(b.build([y]))
