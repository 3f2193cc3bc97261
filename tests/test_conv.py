"""CONV_2D against TFLM: strides, dilations, SAME/VALID, fused activations, per-tensor and per-channel
weights, groups, batches, int4 weights, with and without bias; and what tinyq refuses."""

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


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def add_conv(b: GraphBuilder, rng, x: int, x_shape, *, cout=None, kernel=None, stride=None, dilation=None,
             padding="SAME", per_channel=True, activation="NONE", bias=None, groups=1, weights="int8",
             weight_zp=0, gain=1.0, out_dtype="int8") -> int:
    """One conv on `x` with random weights, scales and (unless given) geometry and bias; returns its output."""
    if bias is None:
        bias = bool(rng.integers(0, 2))
    n, h, w, cin = x_shape
    cout = cout or groups * int(rng.integers(1, 5))
    while True:
        kh, kw = kernel or (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        sh, sw = stride or (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dh, dw = dilation or (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        oh, ow = output_size(padding, h, kh, sh, dh), output_size(padding, w, kw, sw, dw)
        if oh > 0 and ow > 0:
            break
    scales = rng.uniform(0.002, 0.02, size=cout if per_channel else 1)
    limit = 8 if weights == "int4" else 128
    wt = b.const(rng.integers(-limit + 1, limit, size=(cout, kh, kw, cin // groups)), weights, scale=scales,
                 zero_point=weight_zp, axis=0)
    in_scale = b._tensors[x].quant.s
    bt = b.const(rng.integers(-5000, 5000, size=cout), "int32", scale=in_scale * scales, zero_point=0) if bias else -1
    # gain > 1 makes the effective scale exceed 1 (a left shift in the requantization)
    out_scale = rng.uniform(0.05, 0.5) / gain
    y = b.activation((n, oh, ow, cout), out_dtype, scale=out_scale, zero_point=int(rng.integers(-40, 40)))
    b.op("conv_2d", [x, wt, bt], [y], padding=padding, stride_h=sh, stride_w=sw, dilation_h_factor=dh,
         dilation_w_factor=dw, fused_activation_function=activation)
    return y


def conv_model(rng, x_shape=None, branches=4, in_dtype="int8", **conv):
    """A model whose input feeds `branches` independent random convs (one compile checks them all)."""
    x_shape = x_shape or (1, int(rng.integers(1, 12)), int(rng.integers(1, 12)), int(rng.integers(1, 7)))
    b = GraphBuilder("conv")
    x = b.input(x_shape, in_dtype, scale=rng.uniform(0.01, 0.2), zero_point=int(rng.integers(-40, 40)))
    outs = [add_conv(b, rng, x, x_shape, **conv) for _ in range(branches)]
    return b.build(outs)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_conv_variants(padding, per_channel, activation):
    """Random odd shapes, kernels 1-5, strides 1-3 and dilations 1-2 in each axis, bias or not."""
    rng = seeded("conv", padding, per_channel, activation)
    graph = conv_model(rng, padding=padding, per_channel=per_channel, activation=activation, branches=4)
    assert_bit_exact(graph, n_inputs=8)


@pytest.mark.parametrize("groups", [2, 3])
def test_conv_grouped(groups):
    rng = seeded("grouped", groups)
    x_shape = (2, 7, 9, groups * 3)
    assert_bit_exact(conv_model(rng, x_shape, groups=groups), n_inputs=8)


def test_conv_batches_and_big_channels():
    rng = seeded("batches")
    assert_bit_exact(conv_model(rng, (3, 5, 6, 19), branches=2, cout=33), n_inputs=6)


def test_conv_int4_weights():
    rng = seeded("int4")
    assert_bit_exact(conv_model(rng, weights="int4"), n_inputs=8)
    assert_bit_exact(conv_model(rng, weights="int4", per_channel=False, bias=False), n_inputs=8)


def test_conv_effective_scale_above_one():
    """Requantization with a positive shift, saturating at the activation bounds."""
    rng = seeded("gain")
    assert_bit_exact(conv_model(rng, gain=300.0, kernel=(1, 1)), n_inputs=8)


def test_conv_filter_larger_than_input_same():
    rng = seeded("large")
    assert_bit_exact(conv_model(rng, (1, 3, 2, 4), kernel=(7, 5), stride=(1, 2), dilation=(1, 1)), n_inputs=8)


def test_conv_weight_zero_point_ignored_like_tflm():
    """TFLM's int8 conv never reads the weights' zero point; tinyq matches it."""
    rng = seeded("wzp")
    assert_bit_exact(conv_model(rng, per_channel=False, weight_zp=3, branches=2), n_inputs=6)



def test_conv_filter_scales_read_per_output_channel_whatever_axis_the_file_names():
    """TFLM's Prepare (PopulateConvolutionQuantizationParams) wants as many scales as output channels and the
    dimension the file's quantized_dimension names to be that long, and then gives scale i to output channel
    i: a [3, 3, 3, 3] filter with its scales declared along axis 1 or 3 runs. tinyq refused it ('must have 3
    scales along axis 0'); a count or a named dimension that differs stays refused, as TFLM refuses it."""
    rng = seeded("axis")
    for axis, scales, runs in ((1, 3, True), (3, 3, True), (0, 2, False)):
        b = GraphBuilder("conv_axis")
        x = b.input((1, 4, 4, 3), scale=0.05, zero_point=-3)
        w = b.const(rng.integers(-127, 128, size=(3, 3, 3, 3)), "int8", scale=rng.uniform(0.002, 0.02, scales),
                    zero_point=0, axis=axis)
        bias = b.const(rng.integers(-500, 500, size=3), "int32", scale=0.05 * 0.01, zero_point=0)
        y = b.activation((1, 4, 4, 3), scale=0.08, zero_point=5)
        b.op("conv_2d", [x, w, bias], [y], padding="SAME")
        if runs:
            assert_bit_exact(b.build([y]), n_inputs=6)
        else:
            assert "must have 3 scales" in _lower_error(b.build([y]))

def _lower_error(graph) -> str:
    with pytest.raises(UnsupportedError) as info:
        compile_graph(graph, get_board("host"))
    message = str(info.value)
    assert "conv_2d" in message
    return message


def test_conv_int16_activations_need_int8_weights():
    """16x8 runs (tests/test_int16_conv.py); TFLM has no int16 x int4 convolution."""
    b = GraphBuilder("conv")
    x = b.input((1, 5, 5, 2), "int16", scale=0.05, zero_point=0)
    y = add_conv(b, seeded("i16"), x, (1, 5, 5, 2), out_dtype="int16", cout=2, weights="int4")
    assert "int16 activations need int8 weights" in _lower_error(b.build([y]))


def test_conv_non_constant_filter_unsupported():
    b = GraphBuilder("conv")
    x = b.input((1, 4, 4, 2), scale=0.05, zero_point=0)
    w = b.input((3, 3, 3, 2), scale=0.01, zero_point=0)
    y = b.activation((1, 4, 4, 3), scale=0.1, zero_point=0)
    b.op("conv_2d", [x, w, -1], [y])
    assert "filter must be a constant" in _lower_error(b.build([y]))


def test_conv_inconsistent_output_shape_unsupported():
    b = GraphBuilder("conv")
    x = b.input((1, 6, 6, 2), scale=0.05, zero_point=0)
    w = b.const(np.ones((3, 3, 3, 2)), "int8", scale=0.01, zero_point=0)
    y = b.activation((1, 6, 6, 3), scale=0.1, zero_point=0)
    b.op("conv_2d", [x, w, -1], [y], stride_h=2, stride_w=2)
    assert "expected 3x3" in _lower_error(b.build([y]))


def test_conv_unsupported_activation():
    b = GraphBuilder("conv")
    x = b.input((1, 4, 4, 2), scale=0.05, zero_point=0)
    w = b.const(np.ones((3, 1, 1, 2)), "int8", scale=0.01, zero_point=0)
    y = b.activation((1, 4, 4, 3), scale=0.1, zero_point=0)
    b.op("conv_2d", [x, w, -1], [y], fused_activation_function="TANH")
    assert "TANH" in _lower_error(b.build([y]))
