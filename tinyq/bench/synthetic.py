"""A MobileNetV1 built in code (random int8 weights): the MobileNet-class shape that MLPerf
Tiny's visual wake words model has (alpha 0.25, 96x96x3), for memory benchmarks when no
such .tflite is at hand. Memory use depends on shapes only, not on the weights' values.
"""

from __future__ import annotations

import numpy as np

from tinyq.ir import Graph
from tinyq.tflite.builder import GraphBuilder

# (stride, output channels at alpha 1) of the 13 depthwise-separable blocks
BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512), (1, 512),
          (1, 512), (2, 1024), (1, 1024))


def _conv(b: GraphBuilder, rng, x: int, shape, kind: str, cout: int, kernel: int, stride: int):
    n, h, w, cin = shape
    oh, ow = (h + stride - 1) // stride, (w + stride - 1) // stride
    in_scale = b._tensors[x].quant.s
    if kind == "depthwise_conv_2d":
        scales = rng.uniform(0.005, 0.02, cin)
        wt = b.const(rng.integers(-127, 128, size=(1, kernel, kernel, cin)), "int8", scale=scales, zero_point=0,
                     axis=3)
        cout = cin
    else:
        scales = rng.uniform(0.005, 0.02, cout)
        wt = b.const(rng.integers(-127, 128, size=(cout, kernel, kernel, cin)), "int8", scale=scales,
                     zero_point=0, axis=0)
    bias = b.const(rng.integers(-1000, 1000, size=cout), "int32", scale=in_scale * scales, zero_point=0)
    y = b.activation((n, oh, ow, cout), scale=6 / 255, zero_point=-128)
    options = dict(padding="SAME", stride_h=stride, stride_w=stride, fused_activation_function="RELU6")
    if kind == "depthwise_conv_2d":
        options["depth_multiplier"] = 1
    b.op(kind, [x, wt, bias], [y], **options)
    return y, (n, oh, ow, cout)


def mobilenet_v1(alpha: float = 0.25, size: int = 96, channels: int = 3, classes: int = 2,
                 seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    b = GraphBuilder(f"mobilenet_v1_{round(alpha * 100):03d}_{size}")  # a C identifier
    x = b.input((1, size, size, channels), scale=1 / 128, zero_point=0)
    y, shape = _conv(b, rng, x, (1, size, size, channels), "conv_2d", int(32 * alpha), 3, 2)
    for stride, width in BLOCKS:
        y, shape = _conv(b, rng, y, shape, "depthwise_conv_2d", 0, 3, stride)
        y, shape = _conv(b, rng, y, shape, "conv_2d", int(width * alpha), 1, 1)
    n, h, w, c = shape
    pooled = b.activation((n, 1, 1, c), scale=6 / 255, zero_point=-128)
    b.op("average_pool_2d", [y], [pooled], padding="VALID", filter_height=h, filter_width=w)
    flat = b.activation((n, c), scale=6 / 255, zero_point=-128)
    b.op("reshape", [pooled, b.const(np.array([n, c], dtype=np.int32))], [flat])
    scales = rng.uniform(0.005, 0.02, classes)
    wt = b.const(rng.integers(-127, 128, size=(classes, c)), "int8", scale=scales, zero_point=0, axis=0)
    logits = b.activation((n, classes), scale=0.1, zero_point=0)
    b.op("fully_connected", [flat, wt, -1], [logits])
    probs = b.activation((n, classes), scale=1 / 256, zero_point=-128)
    b.op("softmax", [logits], [probs], beta=1.0)
    return b.build([probs])
