"""The in/out scale ratios of RELU, LEAKY_RELU and ABS as the golden TFLM computes them.

TFLM's source writes `static_cast<double>(input_scale / output_scale)` (and
`input_scale * alpha / output_scale` for LEAKY_RELU's alpha), a float32 division, but the
tflite-micro build tinyq pins evaluates them at double precision: with float32 division
these scales give a multiplier 27 units lower and 10 of the 32,768 non-negative int16
inputs come out one step off. Every int16 value is fed at once, so a wrong multiplier
cannot hide behind a random sample."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.tflite.builder import GraphBuilder

# The SEANet LEAKY_RELU layer of TFLM's integration tests, where the two precisions part.
IN_SCALE, OUT_SCALE = 0.005836874712258577, 0.0046422905288636684


def _every_value(op: str, dtype: str, **options):
    info = np.iinfo(dtype)
    n = int(info.max) - int(info.min) + 1
    b = GraphBuilder(op)
    x = b.input((1, n), dtype=dtype, scale=IN_SCALE, zero_point=0)
    y = b.activation((1, n), dtype=dtype, scale=OUT_SCALE, zero_point=0)
    b.op(op, [x], [y], **options)
    return b.build([y])


@pytest.mark.parametrize("op, options, dtype", [
    *((op, options, dtype) for op, options in (("relu", {}), ("leaky_relu", dict(alpha=0.3)),
                                                ("leaky_relu", dict(alpha=-0.7)))
      for dtype in ("int8", "int16")),
    ("abs", {}, "int8"), ("abs", {}, "int16"),
])
def test_ratio_matches_the_golden_build(op, options, dtype):
    assert_bit_exact(_every_value(op, dtype, **options), n_inputs=6)
