"""AVERAGE_POOL_2D and MAX_POOL_2D against TFLM: windows, strides, SAME/VALID, fused activations,
windows larger than the input, batches; and what tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.ops.geometry import output_size
from tinyq.tflite.builder import GraphBuilder

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
KINDS = ["average_pool_2d", "max_pool_2d"]


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def add_pool(b: GraphBuilder, rng, kind: str, x: int, x_shape, *, window=None, stride=None, padding="SAME",
             activation="NONE", out_quant=None, out_dtype="int8") -> int:
    """One pooling op on `x` with (unless given) a random window and stride; returns its output."""
    n, h, w, c = x_shape
    while True:
        fh, fw = window or (int(rng.integers(1, 7)), int(rng.integers(1, 7)))
        sh, sw = stride or (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        oh, ow = output_size(padding, h, fh, sh), output_size(padding, w, fw, sw)
        if oh > 0 and ow > 0:
            break
    q = b._tensors[x].quant
    scale, zp = out_quant or (q.s, q.zp)
    y = b.activation((n, oh, ow, c), out_dtype, scale=scale, zero_point=zp)
    b.op(kind, [x], [y], padding=padding, stride_h=sh, stride_w=sw, filter_height=fh, filter_width=fw,
         fused_activation_function=activation)
    return y


def pool_model(rng, kind, x_shape=None, branches=4, **pool):
    x_shape = x_shape or (1, int(rng.integers(1, 14)), int(rng.integers(1, 14)), int(rng.integers(1, 9)))
    b = GraphBuilder("pool")
    # activations only change the result when the clamp bites: small scales make RELU6 and
    # RELU_N1_TO_1 cut inside the int8 range, the zero point moves RELU's cut
    x = b.input(x_shape, scale=rng.uniform(0.005, 0.05), zero_point=int(rng.integers(-60, 60)))
    return b.build([add_pool(b, rng, kind, x, x_shape, **pool) for _ in range(branches)])


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_pool_variants(kind, activation, padding):
    """Random odd shapes, windows 1-6 and strides 1-3 in each axis."""
    rng = seeded(kind, activation, padding)
    assert_bit_exact(pool_model(rng, kind, padding=padding, activation=activation), n_inputs=10)


@pytest.mark.parametrize("kind", KINDS)
def test_pool_window_larger_than_input_same(kind):
    rng = seeded("large", kind)
    assert_bit_exact(pool_model(rng, kind, (2, 3, 2, 5), window=(7, 4), stride=(1, 3), branches=2), n_inputs=10)


@pytest.mark.parametrize("kind", KINDS)
def test_pool_global_and_batches(kind):
    """A global pool (the KWS/ResNet head) and a batch of three."""
    rng = seeded("global", kind)
    assert_bit_exact(pool_model(rng, kind, (3, 25, 5, 17), window=(25, 5), stride=(1, 1), padding="VALID",
                                branches=1), n_inputs=10)


def test_average_pool_rounds_halves_away_from_zero():
    """2-tap windows: every odd sum is a tie (x.5), positive or negative, on random inputs."""
    b = GraphBuilder("pool")
    x = b.input((1, 1, 256, 1), scale=0.1, zero_point=0)
    y = b.activation((1, 1, 255, 1), scale=0.1, zero_point=0)
    b.op("average_pool_2d", [x], [y], padding="VALID", stride_h=1, stride_w=1, filter_height=1, filter_width=2)
    assert_bit_exact(b.build([y]), n_inputs=10)


def _lower_error(graph, kind) -> str:
    with pytest.raises(UnsupportedError) as info:
        compile_graph(graph, get_board("host"))
    message = str(info.value)
    assert kind in message
    return message


@pytest.mark.parametrize("kind", KINDS)
def test_pool_requantizing_unsupported(kind):
    b = GraphBuilder("pool")
    x = b.input((1, 4, 4, 2), scale=0.05, zero_point=3)
    y = add_pool(b, seeded("rq"), kind, x, (1, 4, 4, 2), out_quant=(0.1, 3))
    assert "quantization differ" in _lower_error(b.build([y]), kind)


@pytest.mark.parametrize("kind", KINDS)
def test_pool_int16_to_int8_unsupported(kind):
    """int16 pooling runs (tests/test_int16_ops.py); TFLM pools without converting types."""
    b = GraphBuilder("pool")
    x = b.input((1, 4, 4, 2), "int16", scale=0.05, zero_point=0)
    y = add_pool(b, seeded("i16"), kind, x, (1, 4, 4, 2), out_dtype="int8")
    assert "int8 beside int16" in _lower_error(b.build([y]), kind)
