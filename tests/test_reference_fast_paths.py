"""The reference kernels' fast paths against TFLM: windows inside the input start from the offline
acc_init (input offset folded into the bias) while windows crossing the padding keep TFLM's form,
four output channels a pass with a tail of 1-3, grouped convs whose groups are not multiples of four,
depthwise multipliers that do not group by four, and fully connected with a weight zero point.
Extreme zero points and weights make the folded sums large. Host, and one model under QEMU on the
Cortex-M55 build and the ARMv6-M build."""

import shutil
import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.ops.geometry import output_size
from tinyq.verify import verify_qemu
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import summarize


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _weights(rng, shape, extreme: bool):
    if extreme:  # every weight at a rail: the largest sums the folding sees
        return rng.choice([-127, 127], size=shape)
    return rng.integers(-127, 128, size=shape)


def add_conv(b, rng, x, x_shape, cout, kernel, stride=(1, 1), dilation=(1, 1), padding="SAME", groups=1,
             bias=True, extreme=False):
    n, h, w, cin = x_shape
    oh = output_size(padding, h, kernel[0], stride[0], dilation[0])
    ow = output_size(padding, w, kernel[1], stride[1], dilation[1])
    scales = rng.uniform(0.002, 0.02, size=cout)
    wt = b.const(_weights(rng, (cout, *kernel, cin // groups), extreme), "int8", scale=scales, zero_point=0, axis=0)
    in_scale = b._tensors[x].quant.s
    bt = b.const(rng.integers(-5000, 5000, size=cout), "int32", scale=in_scale * scales, zero_point=0) if bias else -1
    y = b.activation((n, oh, ow, cout), scale=rng.uniform(0.05, 0.5) * (40 if extreme else 1),
                     zero_point=int(rng.integers(-40, 40)))
    b.op("conv_2d", [x, wt, bt], [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dilation[0], dilation_w_factor=dilation[1])
    return y


def add_depthwise(b, rng, x, x_shape, multiplier, kernel, stride=(1, 1), dilation=(1, 1), padding="SAME",
                  bias=True, extreme=False):
    n, h, w, cin = x_shape
    cout = cin * multiplier
    oh = output_size(padding, h, kernel[0], stride[0], dilation[0])
    ow = output_size(padding, w, kernel[1], stride[1], dilation[1])
    scales = rng.uniform(0.002, 0.02, size=cout)
    wt = b.const(_weights(rng, (1, *kernel, cout), extreme), "int8", scale=scales, zero_point=0, axis=3)
    in_scale = b._tensors[x].quant.s
    inputs = [x, wt]
    if bias:
        inputs.append(b.const(rng.integers(-5000, 5000, size=cout), "int32", scale=in_scale * scales,
                              zero_point=0, axis=0))
    y = b.activation((n, oh, ow, cout), scale=rng.uniform(0.05, 0.5) * (10 if extreme else 1),
                     zero_point=int(rng.integers(-40, 40)))
    b.op("depthwise_conv_2d", inputs, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dilation[0], dilation_w_factor=dilation[1], depth_multiplier=multiplier)
    return y


def _input(b, shape, zero_point, rng):
    return b.input(shape, scale=rng.uniform(0.01, 0.2), zero_point=zero_point)


# (input shape, cout, kernel, stride, dilation, padding, groups): windows bigger than the input,
# windows inside only in the middle, tails of 1-3 channels, runs split by dilation or groups
CONVS = [
    ((1, 3, 4, 5), 7, (5, 5), (1, 1), (1, 1), "SAME", 1),
    ((1, 9, 7, 3), 5, (3, 3), (1, 1), (1, 1), "SAME", 1),
    ((2, 8, 11, 6), 9, (3, 2), (2, 3), (1, 1), "SAME", 1),
    ((1, 10, 9, 4), 6, (3, 3), (1, 1), (2, 2), "SAME", 1),
    ((1, 7, 8, 2), 3, (2, 4), (1, 2), (2, 1), "VALID", 1),
    ((1, 6, 7, 9), 6, (3, 3), (1, 1), (1, 1), "SAME", 3),  # two filters per group
    ((1, 6, 5, 6), 6, (2, 3), (2, 1), (1, 2), "SAME", 6),  # one filter per group
    ((1, 5, 9, 10), 25, (3, 1), (1, 1), (1, 1), "SAME", 5),  # five per group: a quad and a tail of one
    ((1, 12, 1, 1), 13, (10, 1), (2, 1), (1, 1), "SAME", 1),  # KWS's first layer, narrowed
    ((1, 4, 4, 33), 17, (1, 1), (1, 1), (1, 1), "VALID", 1),  # pointwise
]


@pytest.mark.parametrize("extreme", [False, True])
def test_conv_fast_paths(extreme):
    """Every case in one model (one input each), with and without bias."""
    rng = seeded("conv", extreme)
    b = GraphBuilder("conv")
    outs = []
    for shape, cout, kernel, stride, dilation, padding, groups in CONVS:
        x = _input(b, shape, -128 if extreme else int(rng.integers(-40, 40)), rng)
        outs += [add_conv(b, rng, x, shape, cout, kernel, stride, dilation, padding, groups, bias=bias,
                          extreme=extreme) for bias in (True, False)]
    assert_bit_exact(b.build(outs), n_inputs=6)


# (input shape, multiplier, kernel, stride, dilation, padding)
DEPTHWISE = [
    ((1, 5, 6, 8), 1, (3, 3), (1, 1), (1, 1), "SAME"),
    ((1, 7, 5, 7), 1, (3, 3), (2, 2), (1, 1), "SAME"),  # a quad and a tail of three
    ((2, 6, 6, 5), 2, (3, 2), (1, 2), (2, 1), "SAME"),
    ((1, 4, 7, 3), 3, (5, 5), (1, 1), (1, 1), "SAME"),  # windows bigger than the input
    ((1, 9, 8, 6), 1, (2, 4), (2, 1), (1, 2), "VALID"),
    ((1, 3, 3, 13), 4, (3, 3), (1, 1), (1, 1), "SAME"),
]


@pytest.mark.parametrize("extreme", [False, True])
def test_depthwise_fast_paths(extreme):
    rng = seeded("depthwise", extreme)
    b = GraphBuilder("depthwise")
    outs = []
    for shape, multiplier, kernel, stride, dilation, padding in DEPTHWISE:
        x = _input(b, shape, 127 if extreme else int(rng.integers(-40, 40)), rng)
        outs += [add_depthwise(b, rng, x, shape, multiplier, kernel, stride, dilation, padding, bias=bias,
                               extreme=extreme) for bias in (True, False)]
    assert_bit_exact(b.build(outs), n_inputs=6)


def test_fully_connected_tails_and_weight_zero_point():
    """1-8 units (tails of 1-3), odd depth, two batches; the weight zero point (per-tensor weights)
    adds filter_offset * sum(x) at run time."""
    rng = seeded("fc")
    b = GraphBuilder("fc")
    x = _input(b, (2, 37), int(rng.integers(-40, 40)), rng)
    outs = []
    for units, weight_zp in ((1, 5), (2, -7), (3, 0), (5, 9), (8, -1)):
        w = b.const(rng.integers(-120, 120, size=(units, 37)), "int8", scale=[0.01], zero_point=weight_zp)
        in_scale = b._tensors[x].quant.s
        bt = b.const(rng.integers(-2000, 2000, size=units), "int32", scale=[in_scale * 0.01],
                     zero_point=0) if units % 2 else -1
        y = b.activation((2, units), scale=rng.uniform(0.1, 0.5), zero_point=int(rng.integers(-30, 30)))
        b.op("fully_connected", [x, w, bt], [y])
        outs.append(y)
    assert_bit_exact(b.build(outs), n_inputs=6)


def mixed_model(seed: int = 11):
    """Conv with borders, depthwise, pointwise, fully connected: every fast path in one small net."""
    rng = seeded("mixed", seed)
    b = GraphBuilder("mixed")
    shape = (1, 9, 7, 3)
    x = _input(b, shape, 17, rng)
    y = add_conv(b, rng, x, shape, 10, (3, 3), (1, 1), (1, 1), "SAME")
    y = add_depthwise(b, rng, y, (1, 9, 7, 10), 1, (3, 3), (2, 1), (1, 1), "SAME")
    y = add_conv(b, rng, y, (1, 5, 7, 10), 6, (1, 1), (1, 1), (1, 1), "VALID")
    flat = b.activation((1, 5 * 7 * 6), scale=b._tensors[y].quant.s, zero_point=b._tensors[y].quant.zp)
    b.op("reshape", [y], [flat])
    w = b.const(rng.integers(-127, 128, size=(7, 5 * 7 * 6)), "int8", scale=rng.uniform(0.002, 0.02, size=7),
                zero_point=0, axis=0)
    out = b.activation((1, 7), scale=0.5, zero_point=3)
    b.op("fully_connected", [flat, w, -1], [out])
    return b.build([out])


def test_mixed_model_on_host():
    assert_bit_exact(mixed_model(), n_inputs=10)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                    reason="needs arm-none-eabi-gcc and qemu-system-arm")
@pytest.mark.parametrize("board", ["qemu-m55", "qemu-m0-an385"])
def test_mixed_model_under_qemu(board):
    b = get_board(board)
    graph = mixed_model()
    report = verify_qemu(compile_graph(graph, b), b, n_inputs=8, seed=2)
    assert report.result.ok, summarize(report.result, graph)
