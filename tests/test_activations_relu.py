"""RELU, RELU6 and LEAKY_RELU against TFLM: equal and different input/output quantization
(RELU requantizes; TFLM's RELU6 ignores the output's), negative and large alphas,
odd sizes; and the variants tinyq refuses."""

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


def _quant(rng):
    return dict(scale=float(rng.uniform(0.005, 0.1)), zero_point=int(rng.integers(-128, 100)))


def test_relu_family():
    rng = _rng("relu")
    b = GraphBuilder("relu")
    outputs = []

    def unary(op, shape, q_in, q_out, **options):
        x = b.input(shape, **q_in)
        outputs.append(b.activation(shape, **q_out, name=f"{op}{len(outputs)}"))
        b.op(op, [x], [outputs[-1]], **options)

    same = _quant(rng)
    unary("relu", (1, 5, 5, 3), same, same)
    unary("relu", (37,), _quant(rng), _quant(rng))  # requantized
    unary("relu", (2, 9), dict(scale=0.01, zero_point=-128), dict(scale=0.2, zero_point=100))
    unary("relu", (3, 4), dict(scale=0.2, zero_point=60), dict(scale=0.01, zero_point=-20))  # multiplier > 1
    unary("relu6", (1, 4, 4, 3), same, same)
    unary("relu6", (23,), dict(scale=0.02, zero_point=-128), dict(scale=0.02, zero_point=-128))  # 6 inside range
    unary("relu6", (23,), dict(scale=0.1, zero_point=-10), dict(scale=0.1, zero_point=-10))  # 6 clipped to 70
    unary("relu6", (11,), _quant(rng), _quant(rng))  # TFLM keeps the input's quantization
    for alpha in (0.2, 0.01, 0.0, -0.5, 1.7):
        unary("leaky_relu", (3, 7), _quant(rng), _quant(rng), alpha=alpha)
    unary("leaky_relu", (2, 2, 5), same, same, alpha=0.1)
    assert_bit_exact(b.build(outputs), n_inputs=16)


def test_relu_chain_in_place():
    rng = _rng("chain")
    b = GraphBuilder("chain")
    x = b.input((4, 8), **_quant(rng))
    t1, t2, t3 = (b.activation((4, 8), **_quant(rng)) for _ in range(3))
    b.op("relu", [x], [t1])
    b.op("leaky_relu", [t1], [t2], alpha=0.3)
    b.op("relu6", [t2], [t3])
    assert_bit_exact(b.build([t3]), n_inputs=10)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


@pytest.mark.parametrize("op, dtype, message", [
    ("relu_n1_to_1", "int8", "no TFLM kernel"),
    ("relu", "int32", "only int8"),  # int16: tests/test_int16_ops.py
    ("relu6", "int64", "is int64"),  # float32: tests/test_float_*.py
    ("leaky_relu", "uint8", "only int8"),
])
def test_unsupported_variants(op, dtype, message):
    b = GraphBuilder("bad")
    q = dict(scale=0.1, zero_point=0)
    x = b.input((2, 3), dtype=dtype, **q)
    y = b.activation((2, 3), dtype=dtype, **q)
    b.op(op, [x], [y])
    with pytest.raises(TinyqError, match=message):
        _compile(b.build([y]))
