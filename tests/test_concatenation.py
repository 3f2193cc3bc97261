"""CONCATENATION against TFLM: every axis (negative too), 2 to 10 inputs, constant inputs,
odd shapes, non-int8 element types; and the variants TFLM (so tinyq) refuses."""

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


def concat_graph(name, cases, rng, dtype="int8"):
    """cases: (output shape, axis, sizes along the axis, which inputs are constant)."""
    b = GraphBuilder(name)
    outputs = []
    for out_shape, axis, sizes, consts in cases:
        quant = dict(scale=float(rng.uniform(0.01, 0.3)), zero_point=int(rng.integers(-100, 100))) \
            if dtype == "int8" else {}
        pos = axis % len(out_shape)
        ins = []
        for i, n in enumerate(sizes):
            shape = tuple(n if d == pos else s for d, s in enumerate(out_shape))
            if i in consts:
                ins.append(b.const(rng.integers(-100, 100, size=shape), dtype, **quant))
            else:
                ins.append(b.input(shape, dtype=dtype, **quant))
        outputs.append(b.activation(out_shape, dtype=dtype, **quant, name=f"cat{list(out_shape)}axis{axis}"))
        b.op("concatenation", ins, [outputs[-1]], axis=axis)
    return b.build(outputs)


def test_every_axis_and_input_count():
    rng = _rng("axes")
    cases = [((2, 7, 3, 5), 0, (1, 1), ()),
             ((2, 7, 3, 5), 1, (3, 4), ()),
             ((2, 7, 3, 5), 2, (1, 1, 1), ()),
             ((2, 7, 3, 5), 3, (2, 1, 2), ()),
             ((2, 7, 3, 5), -1, (4, 1), ()),
             ((3, 9, 2), -2, (1, 2, 3, 3), ()),
             ((3, 9, 2), -3, (2, 1), ()),
             ((13,), 0, (5, 8), ()),
             ((1, 2, 2, 3, 2, 3), 4, (1, 1), ()),  # rank 6
             ((2, 10, 3), 1, (1,) * 10, ()),  # TFLM's maximum of 10 inputs
             ((4, 6), 1, (2, 3, 1), (1,)),  # a constant in the middle
             ((5, 3), 0, (2, 3), (0,))]  # a constant first
    assert_bit_exact(concat_graph("axes", cases, rng), n_inputs=8)


@pytest.mark.parametrize("dtype", ["float32", "int16", "int32"])
def test_other_element_types(dtype):
    rng = _rng(dtype)
    cases = [((2, 5, 3), 1, (2, 3), ()), ((3, 4), -1, (1, 2, 1), (1,))]
    assert_bit_exact(concat_graph(f"cat_{dtype}", cases, rng, dtype=dtype), n_inputs=6)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _two_inputs(q1, q2, qy, shape1=(2, 3), shape2=(2, 3), out=(2, 6), axis=1, activation="NONE", extra=0):
    b = GraphBuilder("bad")
    ins = [b.input(shape1, **q1), b.input(shape2, **q2)] + [b.input(shape2, **q2) for _ in range(extra)]
    y = b.activation(out, **qy)
    b.op("concatenation", ins, [y], axis=axis, fused_activation_function=activation)
    return b.build([y])


Q = dict(scale=0.1, zero_point=3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(q1=Q, q2=dict(scale=0.2, zero_point=3), qy=Q), "quantized differently"),
    (dict(q1=Q, q2=dict(scale=0.1, zero_point=4), qy=Q), "quantized differently"),
    (dict(q1=Q, q2=Q, qy=dict(scale=0.1, zero_point=-3)), "quantized differently"),
    (dict(q1=Q, q2=Q, qy=Q, activation="RELU"), "fused activation RELU"),
    (dict(q1=Q, q2=Q, qy=Q, out=(2, 30), extra=9), "11 inputs"),
    (dict(q1=Q, q2=Q, qy=Q, shape2=(3, 3)), "does not fit"),
    (dict(q1=Q, q2=Q, qy=Q, out=(2, 7)), "add up to 6"),
    (dict(q1=Q, q2=Q, qy=Q, axis=2), "axis 2 is out of range"),
])
def test_unsupported_variants(kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_two_inputs(**kwargs))
