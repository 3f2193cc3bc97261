"""DEPTHWISE_CONV_2D against TFLM: depth multipliers, strides, dilations, SAME/VALID, fused activations,
per-tensor and per-channel weights, batches, int4 weights, with and without bias; and what tinyq refuses."""

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


def add_depthwise(b: GraphBuilder, rng, x: int, x_shape, *, multiplier=None, kernel=None, stride=None,
                  dilation=None, padding="SAME", per_channel=True, activation="NONE", bias=None, weights="int8",
                  gain=1.0, out_dtype="int8", option_multiplier=None) -> int:
    """One depthwise conv on `x` with random weights, scales and (unless given) geometry and bias."""
    n, h, w, cin = x_shape
    multiplier = multiplier or int(rng.integers(1, 4))
    bias = bool(rng.integers(0, 2)) if bias is None else bias
    cout = cin * multiplier
    while True:
        kh, kw = kernel or (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        sh, sw = stride or (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dh, dw = dilation or (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        oh, ow = output_size(padding, h, kh, sh, dh), output_size(padding, w, kw, sw, dw)
        if oh > 0 and ow > 0:
            break
    scales = rng.uniform(0.002, 0.02, size=cout if per_channel else 1)
    limit = 8 if weights == "int4" else 128
    wt = b.const(rng.integers(-limit + 1, limit, size=(1, kh, kw, cout)), weights, scale=scales, zero_point=0,
                 axis=3)
    in_scale = b._tensors[x].quant.s
    inputs = [x, wt]
    if bias:  # TFLM crashes on an omitted (-1) depthwise bias, so leave it out entirely
        inputs.append(b.const(rng.integers(-5000, 5000, size=cout), "int32", scale=in_scale * scales,
                              zero_point=0, axis=0))
    out_scale = rng.uniform(0.05, 0.5) / gain
    y = b.activation((n, oh, ow, cout), out_dtype, scale=out_scale, zero_point=int(rng.integers(-40, 40)))
    b.op("depthwise_conv_2d", inputs, [y], padding=padding, stride_h=sh, stride_w=sw, dilation_h_factor=dh,
         dilation_w_factor=dw, fused_activation_function=activation,
         depth_multiplier=option_multiplier or multiplier)
    return y


def dw_model(rng, x_shape=None, branches=4, **dw):
    """A model whose input feeds `branches` independent random depthwise convs."""
    x_shape = x_shape or (1, int(rng.integers(1, 12)), int(rng.integers(1, 12)), int(rng.integers(1, 7)))
    b = GraphBuilder("dw")
    x = b.input(x_shape, scale=rng.uniform(0.01, 0.2), zero_point=int(rng.integers(-40, 40)))
    return b.build([add_depthwise(b, rng, x, x_shape, **dw) for _ in range(branches)])


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_depthwise_variants(padding, per_channel, activation):
    """Random odd shapes, multipliers 1-3, kernels 1-5, strides 1-3, dilations 1-2, bias or not."""
    rng = seeded("dw", padding, per_channel, activation)
    assert_bit_exact(dw_model(rng, padding=padding, per_channel=per_channel, activation=activation), n_inputs=8)


def test_depthwise_batches_and_many_channels():
    rng = seeded("batches")
    assert_bit_exact(dw_model(rng, (3, 6, 5, 24), branches=3), n_inputs=6)


def test_depthwise_kws_like_layer():
    """The DS-CNN block shape: 3x3, stride 1, SAME, 64 channels, per-channel, RELU."""
    rng = seeded("kws")
    assert_bit_exact(dw_model(rng, (1, 25, 5, 64), branches=1, multiplier=1, kernel=(3, 3), stride=(1, 1),
                              dilation=(1, 1), activation="RELU", bias=True), n_inputs=10)


def test_depthwise_int4_weights():
    rng = seeded("int4")
    assert_bit_exact(dw_model(rng, weights="int4", branches=4), n_inputs=8)


def test_depthwise_effective_scale_above_one():
    rng = seeded("gain")
    assert_bit_exact(dw_model(rng, gain=300.0, branches=3), n_inputs=8)


def test_depthwise_filter_larger_than_input_same():
    rng = seeded("large")
    assert_bit_exact(dw_model(rng, (2, 2, 3, 3), kernel=(5, 7), stride=(2, 1), dilation=(1, 1), branches=2),
                     n_inputs=8)


def _lower_error(graph) -> str:
    with pytest.raises(UnsupportedError) as info:
        compile_graph(graph, get_board("host"))
    message = str(info.value)
    assert "depthwise_conv_2d" in message
    return message


def _one(rng, in_dtype="int8", **dw):
    b = GraphBuilder("dw")
    x = b.input((1, 5, 5, 2), in_dtype, scale=0.05, zero_point=0)
    y = add_depthwise(b, rng, x, (1, 5, 5, 2), out_dtype=in_dtype, **dw)
    return b.build([y])


def test_depthwise_int16_with_int32_bias_unsupported():
    """16x8 runs (tests/test_int16_conv.py); TFLM reads an int16 depthwise bias as int64."""
    assert "TFLM takes int64" in _lower_error(_one(seeded("i16"), in_dtype="int16", bias=True))


def test_depthwise_inconsistent_depth_multiplier_unsupported():
    assert "depth multiplier 3" in _lower_error(_one(seeded("dm"), multiplier=2, option_multiplier=3))


def test_depthwise_per_channel_on_wrong_axis_unsupported():
    b = GraphBuilder("dw")
    x = b.input((1, 4, 4, 3), scale=0.05, zero_point=0)
    w = b.const(np.ones((1, 3, 3, 3)), "int8", scale=[0.01, 0.02, 0.03], zero_point=0, axis=0)
    y = b.activation((1, 4, 4, 3), scale=0.1, zero_point=0)
    b.op("depthwise_conv_2d", [x, w], [y], depth_multiplier=1)
    assert "axis 3" in _lower_error(b.build([y]))


def test_depthwise_filter_scales_read_per_output_channel_whatever_axis_the_file_names():
    """TFLM's Prepare (PopulateConvolutionQuantizationParams) wants as many scales as output channels and
    the dimension the file's quantized_dimension names to be that long, and then gives scale i to output
    channel i: a [1, 4, 3, 4] filter with its 4 scales declared along axis 1 runs. tinyq refused it ('must
    have 4 scales along axis 3'); along axis 0 (of size 1) both refuse (test above)."""
    rng = seeded("axis")
    b = GraphBuilder("dw_axis")
    x = b.input((1, 5, 5, 4), scale=0.04, zero_point=7)
    w = b.const(rng.integers(-127, 128, size=(1, 4, 3, 4)), "int8", scale=rng.uniform(0.002, 0.02, 4),
                zero_point=0, axis=1)
    bias = b.const(rng.integers(-500, 500, size=4), "int32", scale=0.04 * 0.01, zero_point=0)
    y = b.activation((1, 5, 5, 4), scale=0.06, zero_point=-9)
    b.op("depthwise_conv_2d", [x, w, bias], [y], padding="SAME", depth_multiplier=1)
    assert_bit_exact(b.build([y]), n_inputs=6)
