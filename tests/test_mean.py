"""MEAN and SUM against TFLM: spatial means with and without keep_dims, every other axis
combination (negative, repeated, all), counts and scale ratios that hit TFLM's shift
clamp; and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _out_shape(shape, axes, keep):
    resolved = {a % len(shape) for a in axes}
    if keep:
        return tuple(1 if d in resolved else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in resolved)


def reduce_graph(name, cases, rng):
    """cases: (op, input shape, axes, keep_dims[, (input quant, output quant)])."""
    b = GraphBuilder(name)
    outputs = []
    for op, shape, axes, keep, *quants in cases:
        q_in, q_out = quants[0] if quants else (
            dict(scale=float(rng.uniform(0.01, 0.2)), zero_point=int(rng.integers(-100, 100))),
            dict(scale=float(rng.uniform(0.005, 0.2)), zero_point=int(rng.integers(-100, 100))))
        x = b.input(shape, **q_in)
        axis = b.const(np.array(axes, np.int32), "int32")
        outputs.append(b.activation(_out_shape(shape, axes, keep), **q_out, name=f"{op}{list(shape)}{axes}{keep}"))
        b.op(op, [x, axis], [outputs[-1]], keep_dims=keep)
    return b.build(outputs)


def test_spatial_mean():
    """The global-average-pool form: 4-D input, axes (1, 2)."""
    rng = _rng("spatial")
    cases = [("mean", (1, 5, 7, 3), [1, 2], True),
             ("mean", (1, 5, 7, 3), [1, 2], False),
             ("mean", (2, 4, 6, 9), [2, 1], True),
             ("mean", (3, 3, 3, 16), [-3, -2], False),
             ("mean", (1, 1, 1, 10), [1, 2], True),
             ("mean", (1, 8, 8, 4), [1, 2], True,
              (dict(scale=0.02, zero_point=-128), dict(scale=0.02, zero_point=-128)))]
    assert_bit_exact(reduce_graph("spatial", cases, rng), n_inputs=12)


def test_other_axes_and_sum():
    rng = _rng("axes")
    cases = []
    for op in ("mean", "sum"):
        cases += [(op, (3, 4, 5), [-1], False),
                  (op, (3, 4, 5), [0], True),
                  (op, (3, 4, 5), [0, 2], True),
                  (op, (2, 3, 4, 5), [1, 3], False),
                  (op, (2, 3, 4, 5), [0, 1, 2, 3], False),  # to a scalar
                  (op, (4, 9), [1, 1, -1], False),  # repeats count once
                  (op, (7,), [0], True),
                  (op, (2, 1, 3, 1, 2, 3), [0, 2, 5], True)]  # rank 6
    assert_bit_exact(reduce_graph("axes", cases, rng), n_inputs=10)


def test_shift_clamp_and_large_counts():
    """A tiny input/output scale ratio leaves TFLM fewer than log2(count) bits to fold
    1/count in (shift limited to 31 + shift); large counts; a ratio above 1."""
    rng = _rng("clamp")
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    cases = [("mean", (1, 30, 40, 2), [1, 2], True, (q(1e-9, 5), q(1.0, 0))),
             ("mean", (1, 30, 40, 2), [1, 2], False, (q(3e-10, -7), q(0.25, 3))),
             ("mean", (1, 64, 64, 1), [1, 2], True, (q(0.1, -100), q(0.001, 20))),
             ("sum", (1, 16, 16, 2), [1, 2], True, (q(0.01, 3), q(1.5, -4))),
             ("sum", (5, 3), [1], False, (q(0.5, 100), q(0.01, 0)))]
    assert_bit_exact(reduce_graph("clamp", cases, rng), n_inputs=8)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad(dtype="int8", axes=(1,), axis_const=True, axis_dtype="int32", out_shape=(2,)):
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype=dtype, scale=0.1, zero_point=0)
    if axis_const:
        axis = b.const(np.array(axes), axis_dtype)
    else:
        axis = b.input((1,), dtype="int32")
    y = b.activation(out_shape, dtype=dtype, scale=0.1, zero_point=0)
    b.op("mean", [x, axis], [y], keep_dims=False)
    return b.build([y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(dtype="int32"), "only int8"),  # int16: tests/test_int16_ops.py
    (dict(axis_const=False), "axis must be a constant"),
    (dict(axis_dtype="int64"), "TFLM requires int32"),
    (dict(axes=(2,)), "axis 2 is out of range"),
    (dict(out_shape=(3,)), "does not match"),
])
def test_unsupported_variants(kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad(**kwargs))
