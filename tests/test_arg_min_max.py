"""ARG_MAX and ARG_MIN against TFLM: every axis (negative too), ranks 1 to 6, ties (the first
index wins: the all-equal edge inputs and few-valued inputs), and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder

INT32 = 2  # TensorType INT32, ArgMaxOptions.output_type


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def add_arg(b, op, x, shape, axis, name=None):
    axis_t = b.const(np.array([axis], np.int32), "int32")
    kept = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    y = b.activation(kept, dtype="int32", name=name or f"{op}{list(shape)}{axis}")
    b.op(op, [x, axis_t], [y], output_type=INT32)
    return y


def arg_graph(name, cases, rng):
    """cases: (op, shape, axis) -> one op each on its own input."""
    b = GraphBuilder(name)
    outs = []
    for op, shape, axis in cases:
        x = b.input(shape, scale=float(rng.uniform(0.01, 0.2)), zero_point=int(rng.integers(-100, 100)))
        outs.append(add_arg(b, op, x, shape, axis))
    return b.build(outs)


SHAPES_AXES = [((9,), 0), ((4, 7), 0), ((4, 7), 1), ((4, 7), -1), ((3, 5, 6), 1), ((3, 5, 6), -3),
               ((2, 3, 4, 5), 2), ((1, 8, 8, 10), 3), ((2, 1, 3, 1, 4), 4), ((2, 1, 3, 2, 2, 3), -2),
               ((5, 1), 1), ((1, 200), 1)]


def test_every_axis_and_rank():
    rng = _rng("axes")
    cases = [(op, shape, axis) for op in ("arg_max", "arg_min") for shape, axis in SHAPES_AXES]
    assert_bit_exact(arg_graph("arg_axes", cases, rng), n_inputs=12)


def test_ties_keep_the_first_index():
    """A RELU in front leaves many equal values (every negative input becomes the zero point)."""
    b = GraphBuilder("arg_ties")
    x = b.input((6, 10), scale=0.1, zero_point=-20)
    r = b.activation((6, 10), scale=0.1, zero_point=-128)
    b.op("relu", [x], [r])
    outs = [add_arg(b, op, r, (6, 10), axis) for op in ("arg_max", "arg_min") for axis in (0, 1)]
    assert_bit_exact(b.build(outs), n_inputs=16)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad(op="arg_max", dtype="int8", out_dtype="int32", axis=1, axis_dtype="int32", axis_const=True, out_shape=(2,)):
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype=dtype, scale=0.1, zero_point=0)
    axis_t = b.const(np.array([axis]), axis_dtype) if axis_const else b.input((1,), dtype="int32")
    y = b.activation(out_shape, dtype=out_dtype)
    b.op(op, [x, axis_t], [y], output_type=INT32)
    return b.build([y])


@pytest.mark.parametrize("op", ["arg_max", "arg_min"])
@pytest.mark.parametrize("kwargs, message", [
    (dict(dtype="int16"), "ARG_M.. input is int16; only int8"),
    (dict(out_dtype="int64"), "output is int64; TFLM writes int32 indices only"),
    (dict(axis_dtype="int64"), "axis tensor is int64; TFLM requires int32"),
    (dict(axis_const=False), "axis must be a constant"),
    (dict(axis=2), "axis 2 is out of range for rank 2"),
    (dict(out_shape=(3,)), "does not match input"),
])
def test_unsupported_variants(op, kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad(op, **kwargs))
