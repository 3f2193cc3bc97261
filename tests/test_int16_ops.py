"""int16 ADD, SUB, MUL, RELU, RELU6, LEAKY_RELU, PAD/PADV2, AVERAGE/MAX_POOL_2D, MEAN, SUM,
CONCATENATION and QUANTIZE/DEQUANTIZE between float, int8 and int16 against TFLM: broadcasts,
fused activations, constant operands, zero points where TFLM allows them, saturation; mixed
int8/int16 graphs joined by QUANTIZE; and what tinyq refuses.
"""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.tflite.builder import GraphBuilder

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _q(rng, lo=2e-5, hi=2e-4, zp=False):
    return dict(scale=float(rng.uniform(lo, hi)), zero_point=int(rng.integers(-300, 300)) if zp else 0)


BROADCASTS = [((3, 7), (3, 7)), ((1,), (4, 5)), ((2, 3, 1), (1, 1, 5)), ((1, 5, 1, 3), (2, 1, 4, 1)),
              ((7,), (3, 1, 7)), ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 2, 1)), ((1, 1, 1, 6), (1, 5, 7, 6))]


def binary_graph(name: str, op: str, rng, zero_points: bool) -> object:
    b = GraphBuilder(name)
    outs = []
    for i, (sa, sb) in enumerate(BROADCASTS):
        x = b.input(sa, "int16", **_q(rng, zp=zero_points))
        if i % 3 == 2:  # a constant operand in flash
            w = b.const(rng.integers(-32768, 32768, size=sb), "int16", **_q(rng, zp=zero_points))
        else:
            w = b.input(sb, "int16", **_q(rng, zp=zero_points))
        qy = _q(rng, 4e-5, 4e-4, zp=zero_points) if op != "mul" else dict(scale=float(rng.uniform(0.01, 0.3)), zero_point=0)
        y = b.activation(np.broadcast_shapes(sa, sb), "int16", **qy)
        b.op(op, [x, w], [y], fused_activation_function=ACTIVATIONS[i % 4])
        outs.append(y)
    return b.build(outs)


@pytest.mark.parametrize("op, zero_points", [("add", False), ("add", True), ("sub", False), ("sub", True),
                                             ("mul", False)])
def test_binary_s16_broadcasts_activations_constants(op, zero_points):
    rng = _rng(f"{op}{zero_points}")
    assert_bit_exact(binary_graph(f"{op}_s16", op, rng, zero_points), n_inputs=12)


def test_binary_s16_scale_extremes():
    """Input scales far apart, outputs finer (MUL's multiplier above 1) and coarser (saturation),
    the same tensor on both sides."""
    b = GraphBuilder("scales")
    x = b.input((4, 9), "int16", scale=3e-5, zero_point=0)
    z = b.input((4, 9), "int16", scale=0.02, zero_point=0)
    outs = []
    for op in ("add", "sub", "mul"):
        for other, out_scale in ((x, 1e-6), (z, 5e-2), (x, 0.3)):
            y = b.activation((4, 9), "int16", scale=out_scale, zero_point=0, name=f"{op}{other}{out_scale}")
            b.op(op, [x, other], [y], fused_activation_function="NONE")
            outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_activations_s16():
    rng = _rng("act")
    b = GraphBuilder("act_s16")
    outs = []
    cases = [("relu", {}, 0, (1e-3, 0.7e-3)), ("relu", {}, 0, (1e-3, 3e-3)), ("relu6", {}, 0, (3e-4, 3e-4)),
             ("relu6", {}, 40, (2e-4, 1e-4)), ("relu6", {}, 0, (1e-5, 1e-5)),  # 6 beyond int16: clamped
             ("leaky_relu", {"alpha": 0.2}, 0, (1e-3, 1e-3)), ("leaky_relu", {"alpha": -1.5}, 3, (1e-3, 4e-4)),
             ("leaky_relu", {"alpha": 3.0}, -7, (1e-4, 2e-4)), ("leaky_relu", {"alpha": 0.01}, 0, (2e-3, 5e-4))]
    for op, options, zp, (s_in, s_out) in cases:
        x = b.input((3, int(rng.integers(5, 60))), "int16", scale=s_in, zero_point=zp)
        y = b.activation(b._tensors[x].shape, "int16", scale=s_out, zero_point=zp if op == "leaky_relu" else 0)
        b.op(op, [x], [y], **options)
        outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_pad_s16():
    """PAD pads with 0 whatever the zero point (TFLM's int16 path); PADV2 with its value, a constant
    or a computed tensor; up to 5-D."""
    b = GraphBuilder("pad_s16")
    outs = []
    x = b.input((2, 3, 4), "int16", scale=1e-3, zero_point=17)
    y = b.activation((3, 6, 5), "int16", scale=1e-3, zero_point=17)
    b.op("pad", [x, b.const(np.array([[1, 0], [2, 1], [0, 1]]), "int32")], [y])
    outs.append(y)
    x5 = b.input((1, 2, 1, 3, 2), "int16", scale=1e-3, zero_point=0)
    y5 = b.activation((2, 3, 3, 3, 5), "int16", scale=1e-3, zero_point=0)
    b.op("pad", [x5, b.const(np.array([[0, 1], [1, 0], [1, 1], [0, 0], [2, 1]]), "int32")], [y5])
    outs.append(y5)
    y2 = b.activation((2, 5, 6), "int16", scale=1e-3, zero_point=17)
    b.op("padv2", [x, b.const(np.array([[0, 0], [1, 1], [1, 1]]), "int32"),
                   b.const(np.array([-12345]), "int16", scale=1e-3, zero_point=17)], [y2])
    outs.append(y2)
    v = b.input((1,), "int16", scale=1e-3, zero_point=17)
    y3 = b.activation((4, 3, 4), "int16", scale=1e-3, zero_point=17)
    b.op("padv2", [x, b.const(np.array([[1, 1], [0, 0], [0, 0]]), "int32"), v], [y3])
    outs.append(y3)
    assert_bit_exact(b.build(outs), n_inputs=10)


@pytest.mark.parametrize("kind", ["average_pool_2d", "max_pool_2d"])
def test_pool_s16(kind):
    rng = _rng(kind)
    b = GraphBuilder(kind)
    outs = []
    x = b.input((2, 9, 7, 3), "int16", scale=1e-3, zero_point=0)
    for i, (padding, (fh, fw), (sh, sw)) in enumerate([("SAME", (3, 3), (2, 2)), ("VALID", (2, 3), (1, 2)),
                                                       ("SAME", (9, 7), (1, 1)), ("VALID", (9, 7), (1, 1)),
                                                       ("SAME", (1, 1), (3, 3))]):
        from tinyq.ops.geometry import output_size
        oh, ow = output_size(padding, 9, fh, sh), output_size(padding, 7, fw, sw)
        zp = int(rng.integers(-50, 50)) if i % 2 else 0
        xi = x if zp == 0 else b.input((2, 9, 7, 3), "int16", scale=1e-3, zero_point=zp)
        y = b.activation((2, oh, ow, 3), "int16", scale=1e-3, zero_point=zp)
        b.op(kind, [xi], [y], padding=padding, filter_height=fh, filter_width=fw, stride_h=sh, stride_w=sw,
             fused_activation_function=ACTIVATIONS[i % 4])
        outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_mean_sum_s16():
    rng = _rng("mean")
    b = GraphBuilder("mean_s16")
    outs = []
    x = b.input((2, 5, 6, 3), "int16", scale=1e-3, zero_point=0)
    z = b.input((2, 5, 6, 3), "int16", scale=1e-3, zero_point=-120)
    for op in ("mean", "sum"):
        for src, axes, keep in ((x, [1, 2], True), (x, [-1], False), (z, [0, 1, 2, 3], False), (z, [3, 1, 3], True)):
            shape = [d for i, d in enumerate((2, 5, 6, 3)) if i not in [a % 4 for a in axes]]
            if keep:
                shape = [1 if i in [a % 4 for a in axes] else d for i, d in enumerate((2, 5, 6, 3))]
            scale = float(rng.uniform(5e-4, 2e-3)) * (20 if op == "sum" else 1)
            y = b.activation(shape or [1], "int16", scale=scale, zero_point=int(rng.integers(-40, 40)))
            b.op(op, [src, b.const(np.array(axes), "int32")], [y], keep_dims=keep)
            outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_concatenation_s16():
    b = GraphBuilder("concat_s16")
    x = b.input((2, 3, 4), "int16", scale=1e-3, zero_point=0)
    z = b.input((2, 5, 4), "int16", scale=1e-3, zero_point=0)
    c = b.const(np.arange(-8, 8).reshape(2, 2, 4), "int16", scale=1e-3, zero_point=0)
    y = b.activation((2, 10, 4), "int16", scale=1e-3, zero_point=0)
    b.op("concatenation", [x, z, c], [y], axis=-2)
    assert_bit_exact(b.build([y]), n_inputs=8)


def _mixed_graph():
    """float -> int8 CONV -> QUANTIZE -> int16 16x8 CONV, ADD, LEAKY_RELU, MEAN -> QUANTIZE -> int8
    FULLY_CONNECTED -> DEQUANTIZE."""
    rng = _rng("mixed")
    b = GraphBuilder("mixed")
    f = b.input((1, 6, 6, 2), "float32")
    q8 = b.activation((1, 6, 6, 2), "int8", scale=0.02, zero_point=-3)
    b.op("quantize", [f], [q8])
    c8 = b.activation((1, 6, 6, 4), "int8", scale=0.05, zero_point=2)
    b.op("conv_2d", [q8, b.const(rng.integers(-127, 128, (4, 3, 3, 2)), "int8", scale=[0.01] * 4, axis=0),
                     b.const(rng.integers(-500, 500, 4), "int32", scale=2e-4)], [c8], padding="SAME")
    q16 = b.activation((1, 6, 6, 4), "int16", scale=2e-4, zero_point=0)
    b.op("quantize", [c8], [q16])
    c16 = b.activation((1, 6, 6, 4), "int16", scale=4e-4, zero_point=0)
    b.op("conv_2d", [q16, b.const(rng.integers(-127, 128, (4, 1, 1, 4)), "int8", scale=[0.02] * 4, axis=0),
                     b.const(rng.integers(-9000, 9000, 4), "int64", scale=4e-6)], [c16], padding="SAME")
    s16 = b.activation((1, 6, 6, 4), "int16", scale=5e-4, zero_point=0)
    b.op("add", [q16, c16], [s16], fused_activation_function="NONE")
    l16 = b.activation((1, 6, 6, 4), "int16", scale=5e-4, zero_point=0)
    b.op("leaky_relu", [s16], [l16], alpha=0.1)
    m16 = b.activation((1, 4), "int16", scale=3e-4, zero_point=0)
    b.op("mean", [l16, b.const(np.array([1, 2]), "int32")], [m16], keep_dims=False)
    m8 = b.activation((1, 4), "int8", scale=0.01, zero_point=5)
    b.op("quantize", [m16], [m8])
    o8 = b.activation((1, 3), "int8", scale=0.02, zero_point=-1)
    b.op("fully_connected", [m8, b.const(rng.integers(-127, 128, (3, 4)), "int8", scale=0.01)], [o8])
    out = b.activation((1, 3), "float32")
    b.op("dequantize", [o8], [out])
    return b.build([out, l16])


def test_mixed_int8_int16_graph():
    """The planner and the code generator mix both activation types (and float edges)."""
    assert_bit_exact(_mixed_graph(), n_inputs=12)


def _lower_error(graph) -> str:
    with pytest.raises(UnsupportedError) as info:
        compile_graph(graph, get_board("host"))
    return str(info.value)


def _unary(op, x_q=(1e-3, 0), y_q=(1e-3, 0), y_dtype="int16", **options):
    b = GraphBuilder("bad")
    x = b.input((2, 3), "int16", scale=x_q[0], zero_point=x_q[1])
    y = b.activation((2, 3), y_dtype, scale=y_q[0], zero_point=y_q[1])
    b.op(op, [x], [y], **options)
    return b.build([y])


def _binary(op, zps=(0, 0, 0)):
    b = GraphBuilder("bad")
    x = b.input((2, 3), "int16", scale=1e-3, zero_point=zps[0])
    w = b.input((2, 3), "int16", scale=1e-3, zero_point=zps[1])
    y = b.activation((2, 3), "int16", scale=1e-3, zero_point=zps[2])
    b.op(op, [x, w], [y])
    return b.build([y])


@pytest.mark.parametrize("graph, message", [
    (lambda: _binary("mul", (1, 0, 0)), "TFLM's int16 MUL requires 0"),
    (lambda: _binary("mul", (0, 0, -2)), "TFLM's int16 MUL requires 0"),
    (lambda: _unary("relu", x_q=(1e-3, 4)), "TFLM's int16 RELU requires 0"),
    (lambda: _unary("leaky_relu", y_dtype="int8", alpha=0.1), "int8 beside int16"),
])
def test_s16_refusals(graph, message):
    assert message in _lower_error(graph())


def test_batch_matmul_s16():
    """int16 BATCH_MATMUL over the int8 tests' shapes, adjoints and constant operands: int64 sums
    (depths whose products pass 2^31), scales with multipliers above and below 1."""
    from test_batch_matmul import SHAPES, _oriented, product_shape
    rng = _rng("bmm")
    b = GraphBuilder("bmm_s16")
    outs = []
    for i, (lhs, rhs) in enumerate(SHAPES + [((2, 70), (70, 3))]):
        adj_x, adj_y = bool(i % 2), bool(i % 3 == 1)
        lhs, rhs = _oriented(lhs, rhs, adj_x, adj_y)
        operands = []
        for j, shape in enumerate((lhs, rhs)):
            q = dict(scale=float(rng.uniform(1e-4, 1e-3)), zero_point=0)
            const = i % 4 == 2 + j
            operands.append(b.const(rng.integers(-32768, 32768, size=shape), "int16", **q) if const
                            else b.input(shape, "int16", **q))
        y = b.activation(product_shape(lhs, rhs, adj_x, adj_y), "int16",
                         scale=float(rng.uniform(1e-4, 1e-2)) * (1e-3 if i % 5 == 0 else 1), zero_point=0)
        b.op("batch_matmul", operands, [y], adj_x=adj_x, adj_y=adj_y)
        outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=10)


def test_batch_matmul_s16_refuses_zero_points():
    b = GraphBuilder("bad")
    x = b.input((2, 3), "int16", scale=1e-3, zero_point=4)
    w = b.input((3, 4), "int16", scale=1e-3, zero_point=0)
    y = b.activation((2, 4), "int16", scale=1e-3, zero_point=0)
    b.op("batch_matmul", [x, w], [y])
    assert "TFLM's int16 BATCH_MATMUL requires 0" in _lower_error(b.build([y]))


@pytest.mark.slow
def test_mixed_int8_int16_graph_on_targets():
    assert_bit_exact_on_targets(_mixed_graph(), n_inputs=4, backends=("reference", "cmsis-nn"))
