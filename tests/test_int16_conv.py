"""16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED against TFLM: int16 activations, int8
weights per tensor or per channel, int64 / int32 / no bias (TFLM's 64- or 32-bit accumulator),
every window option, batches, groups, the zero points TFLM ignores (convolutions) or applies
(fully connected), int32 wrap-around, saturation; and what tinyq refuses.

Each test builds one graph of many independent ops, so one C build covers them all.
"""

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


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _bias(b: GraphBuilder, rng, kind: str | None, n: int, scale):
    """A bias input list: int64 (up to 2^40), int32, or none (the input left out: TFLM crashes on -1)."""
    if kind is None:
        return []
    limit = 2**40 if kind == "int64" else 2**24
    return [b.const(rng.integers(-limit, limit, size=n), kind, scale=np.atleast_1d(scale) * 1e-3, zero_point=0)]


def add_conv_s16(b: GraphBuilder, rng, x: int, x_shape, *, bias="int64", qbt="FLOAT32", per_channel=True,
                 groups=1, activation="NONE", out_zp=0, kernel=None, stride=None, dilation=None, padding=None,
                 cout=None, w_range=(-127, 128), out_scale=None) -> int:
    n, h, w, cin = x_shape
    cout = cout or groups * int(rng.integers(1, 5))
    padding = padding or ("SAME", "VALID")[int(rng.integers(0, 2))]
    while True:
        kh, kw = kernel or (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        sh, sw = stride or (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dh, dw = dilation or (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        oh, ow = output_size(padding, h, kh, sh, dh), output_size(padding, w, kw, sw, dw)
        if oh > 0 and ow > 0:
            break
    scales = rng.uniform(0.002, 0.02, size=cout if per_channel else 1)
    wt = b.const(rng.integers(*w_range, size=(cout, kh, kw, cin // groups)), "int8", scale=scales,
                 zero_point=0, axis=0)
    y = b.activation((n, oh, ow, cout), "int16", scale=out_scale or float(rng.uniform(0.5, 4)), zero_point=out_zp)
    b.op("conv_2d", [x, wt, *_bias(b, rng, bias, cout, scales)], [y], padding=padding, stride_h=sh, stride_w=sw,
         dilation_h_factor=dh, dilation_w_factor=dw, fused_activation_function=activation, quantized_bias_type=qbt)
    return y


def add_depthwise_s16(b: GraphBuilder, rng, x: int, x_shape, *, bias=True, per_channel=True, multiplier=None,
                      activation="NONE", out_zp=0, kernel=None, stride=None, dilation=None, padding=None) -> int:
    n, h, w, cin = x_shape
    dm = multiplier or int(rng.integers(1, 4))
    padding = padding or ("SAME", "VALID")[int(rng.integers(0, 2))]
    while True:
        kh, kw = kernel or (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        sh, sw = stride or (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        dh, dw = dilation or (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        oh, ow = output_size(padding, h, kh, sh, dh), output_size(padding, w, kw, sw, dw)
        if oh > 0 and ow > 0:
            break
    cout = cin * dm
    scales = rng.uniform(0.002, 0.02, size=cout if per_channel else 1)
    wt = b.const(rng.integers(-127, 128, size=(1, kh, kw, cout)), "int8", scale=scales, zero_point=0, axis=3)
    y = b.activation((n, oh, ow, cout), "int16", scale=float(rng.uniform(0.05, 0.5)), zero_point=out_zp)
    b.op("depthwise_conv_2d", [x, wt, *_bias(b, rng, "int64" if bias else None, cout, scales)], [y],
         padding=padding, stride_h=sh, stride_w=sw, dilation_h_factor=dh, dilation_w_factor=dw,
         depth_multiplier=dm, fused_activation_function=activation)
    return y


def add_fc_s16(b: GraphBuilder, rng, x: int, x_shape, units: int, *, bias="int64", qbt="FLOAT32",
               per_channel=True, activation="NONE", out_zp=0, keep_num_dims=False) -> int:
    depth = x_shape[-1]
    scales = rng.uniform(0.002, 0.02, size=units if per_channel else 1)
    wt = b.const(rng.integers(-127, 128, size=(units, depth)), "int8", scale=scales if per_channel else scales[0],
                 zero_point=0, axis=0)
    in_scale = b._tensors[x].quant.s
    out_shape = (*x_shape[:-1], units) if keep_num_dims else (int(np.prod(x_shape[:-1])), units)
    y = b.activation(out_shape, "int16", scale=float(rng.uniform(0.5, 4)), zero_point=out_zp)
    biases = _bias(b, rng, bias, units, in_scale * scales)  # per tensor: TFLM checks the bias scale
    b.op("fully_connected", [x, wt, *biases], [y], fused_activation_function=activation,
         keep_num_dims=keep_num_dims, quantized_bias_type=qbt)
    return y


def _input(b: GraphBuilder, rng, shape, zp=0) -> int:
    return b.input(shape, "int16", scale=float(rng.uniform(0.5, 2)) * 1e-3, zero_point=zp)


BIASES = [("int64", "FLOAT32"), ("int32", "FLOAT32"), (None, "FLOAT32"), (None, "INT32"), (None, "INT64")]


def test_conv_s16_random_geometry_biases_and_activations():
    rng = _rng("conv_s16")
    b = GraphBuilder("conv_s16")
    outs = []
    for i in range(24):
        shape = (int(rng.integers(1, 3)), int(rng.integers(3, 9)), int(rng.integers(3, 9)), int(rng.integers(1, 5)))
        groups = (1, 1, 2)[i % 3] if shape[3] % 2 == 0 else 1
        bias, qbt = BIASES[i % len(BIASES)]
        outs.append(add_conv_s16(b, rng, _input(b, rng, shape), shape, bias=bias, qbt=qbt, groups=groups,
                                 per_channel=bool(i % 4), activation=ACTIVATIONS[i % 4]))
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_conv_s16_ignores_zero_points_as_tflm():
    """TFLM's int16 convolution applies no zero-point offset (its fused-activation clamp still counts
    the output's zero point)."""
    rng = _rng("conv_s16_zp")
    b = GraphBuilder("conv_s16_zp")
    outs = []
    for act, (izp, ozp) in zip(ACTIVATIONS, [(7, -3), (-100, 50), (1000, -1000), (0, 30)]):
        shape = (1, 5, 6, 3)
        outs.append(add_conv_s16(b, rng, _input(b, rng, shape, zp=izp), shape, activation=act, out_zp=ozp))
    assert_bit_exact(b.build(outs), n_inputs=10)


def test_conv_s16_accumulators_at_their_limits():
    """1,152 taps of up to 127 * 32767 (the all-max and all-min inputs): past int32 (TFLM's int32
    accumulator wraps, the int64 one does not); int64 biases near 2^40; output scales that saturate
    and ones where the multiplier exceeds 1 (left shifts)."""
    rng = _rng("conv_s16_wide")
    b = GraphBuilder("conv_s16_wide")
    outs = []
    shape = (1, 4, 4, 128)
    x = _input(b, rng, shape)
    for bias, qbt in BIASES[:4]:
        for out_scale in (0.001, 5.0, 300.0):
            outs.append(add_conv_s16(b, rng, x, shape, bias=bias, qbt=qbt, kernel=(3, 3), stride=(1, 1),
                                     dilation=(1, 1), padding="SAME", cout=3, out_scale=out_scale,
                                     w_range=(100, 128)))
    assert_bit_exact(b.build(outs), n_inputs=8)


def test_depthwise_s16_random_geometry():
    rng = _rng("dw_s16")
    b = GraphBuilder("dw_s16")
    outs = []
    for i in range(18):
        shape = (int(rng.integers(1, 3)), int(rng.integers(3, 9)), int(rng.integers(3, 9)), int(rng.integers(1, 5)))
        izp, ozp = ((0, 0), (9, -4))[i % 2]
        outs.append(add_depthwise_s16(b, rng, _input(b, rng, shape, zp=izp), shape, bias=bool(i % 3),
                                      per_channel=bool(i % 4), activation=ACTIVATIONS[i % 4], out_zp=ozp))
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_fully_connected_s16_options():
    """Per-tensor and per-channel weights, each bias type, the offsets TFLM applies to the input and the
    output here, batches, keep_num_dims, activations, a depth past 128 (the kernel's int32 chunks)."""
    rng = _rng("fc_s16")
    b = GraphBuilder("fc_s16")
    outs = []
    for i, (shape, units) in enumerate([((1, 9), 4), ((3, 20), 7), ((2, 3, 16), 5), ((1, 300), 9), ((4, 1), 3),
                                        ((2, 129), 2), ((5, 12), 1), ((1, 64), 16), ((2, 2, 2, 8), 6), ((3, 7), 11)]):
        bias, qbt = BIASES[i % len(BIASES)]
        izp, ozp = ((0, 0), (-250, 13), (31, 0))[i % 3]
        outs.append(add_fc_s16(b, rng, _input(b, rng, shape, zp=izp), shape, units, bias=bias, qbt=qbt,
                               per_channel=bool(i % 2), activation=ACTIVATIONS[i % 4], out_zp=ozp,
                               keep_num_dims=len(shape) == 3))
    assert_bit_exact(b.build(outs), n_inputs=12)


def _lower_error(graph) -> str:
    with pytest.raises(UnsupportedError) as info:
        compile_graph(graph, get_board("host"))
    return str(info.value)


def _conv_graph(**kw):
    b = GraphBuilder("bad")
    rng = _rng("bad")
    shape = (1, 4, 4, 2)
    x = b.input(shape, kw.pop("in_dtype", "int16"), scale=0.001, zero_point=0)
    w = b.const(rng.integers(-7, 8, size=(2, 1, 1, 2)), kw.pop("w_dtype", "int8"), scale=kw.pop("w_scale", 0.01),
                zero_point=0, axis=0)
    y = b.activation((1, 4, 4, 2), kw.pop("out_dtype", "int16"), scale=kw.pop("out_scale", 0.01), zero_point=0)
    bias, bias_value = kw.pop("bias", None), kw.pop("bias_value", 0)
    b.op(kw.pop("op", "conv_2d"), [x, w] + ([b.const(np.full(2, bias_value), bias)] if bias else []), [y], **kw)
    return b.build([y])


@pytest.mark.parametrize("kw, message", [
    (dict(w_dtype="int4"), "int16 activations need int8 weights"),
    (dict(out_dtype="int8"), "int8 beside int16 activations"),
    (dict(bias="int16"), "bias is int16"),
    (dict(w_scale=1e6, out_scale=1e-3), "64-bit requantization is undefined"),
    (dict(bias="int64", bias_value=-(2**47)), "an int64 bias reaches 2^47"),
])
def test_conv_s16_refusals(kw, message):
    assert message in _lower_error(_conv_graph(**kw))


def test_depthwise_s16_refuses_int32_bias():
    b = GraphBuilder("bad")
    x = b.input((1, 4, 4, 2), "int16", scale=0.001, zero_point=0)
    w = b.const(np.ones((1, 1, 1, 2)), "int8", scale=[0.01, 0.01], zero_point=0, axis=3)
    y = b.activation((1, 4, 4, 2), "int16", scale=0.01, zero_point=0)
    b.op("depthwise_conv_2d", [x, w, b.const(np.zeros(2), "int32")], [y])
    assert "TFLM takes int64" in _lower_error(b.build([y]))


def test_fully_connected_s16_refuses_int4_weights():
    b = GraphBuilder("bad")
    x = b.input((1, 4), "int16", scale=0.001, zero_point=0)
    w = b.const(np.ones((2, 4)), "int4", scale=0.01, zero_point=0)
    y = b.activation((1, 2), "int16", scale=0.01, zero_point=0)
    b.op("fully_connected", [x, w], [y])
    assert "int16 activations need int8 weights" in _lower_error(b.build([y]))


def add_transpose_conv_s16(b: GraphBuilder, rng, x: int, in_shape, out_d, kernel, stride, padding="SAME",
                           out_hw=None, bias="int64", per_channel=True, activation="NONE", out_zp=0) -> int:
    from test_transpose_conv import converter_output
    n, h, w, c = in_shape
    out_hw = out_hw or converter_output((h, w), kernel, stride, padding)
    scales = rng.uniform(0.003, 0.03, size=out_d if per_channel else 1)
    weights = b.const(rng.integers(-127, 128, size=(out_d, *kernel, c)), "int8", scale=scales, zero_point=0, axis=0)
    out_shape = (n, *out_hw, out_d)
    inputs = [b.const(np.array(out_shape, np.int32), "int32"), weights, x]
    if bias:
        limit = 2**36 if bias == "int64" else 2**15
        inputs.append(b.const(rng.integers(-limit, limit, size=out_d), bias))
    y = b.activation(out_shape, "int16", scale=float(rng.uniform(0.5, 3)), zero_point=out_zp)
    b.op("transpose_conv", inputs, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         fused_activation_function=activation)
    return y


def test_transpose_conv_s16_options():
    """16x8 TRANSPOSE_CONV over the int8 tests' geometry (output padding, cropping, gaps, large filters),
    with int64, int16 (TFLM widens it) and no bias, zero points TFLM ignores."""
    from test_transpose_conv import CASES
    rng = _rng("tconv_s16")
    b = GraphBuilder("tconv_s16")
    outs = []
    for i, (in_shape, out_d, kernel, stride, padding, *extra) in enumerate(CASES):
        options = {k: v for k, v in (extra[0] if extra else {}).items() if k != "bias"}
        x = _input(b, rng, in_shape, zp=(0, 11)[i % 2])
        outs.append(add_transpose_conv_s16(b, rng, x, in_shape, out_d, kernel, stride, padding,
                                           bias=("int64", "int16", None)[i % 3], out_zp=(0, -5)[i % 2], **options))
    assert_bit_exact(b.build(outs), n_inputs=10)
