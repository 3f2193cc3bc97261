"""A float MobileNetV1 built in code, with near-dead channels: the quantizer's hard case.

MLPerf Tiny's visual wake words model is a Keras MobileNetV1 (alpha 0.25, 96x96x3, ReLU,
batch norm folded into the convolutions, L2 weight decay). Training with L2 drives the
weights of channels that never fire towards zero (~1e-30) while batch norm leaves them a
bias: such a channel outputs a constant (positive bias) or nothing (negative). That float
model is not at hand; this one has its shape: He-scaled pointwise weights, blur-like
depthwise kernels (a zero-mean random 3x3 kernel nearly cancels on smooth images, and the
signal would vanish within a few blocks), per-channel gains spread like folded batch norms
(wider on depthwise layers), and a fraction of each block's channels near-dead.
"""

from __future__ import annotations

import numpy as np

from tinyq.ir import Graph
from tinyq.tflite.builder import GraphBuilder

# (stride, output channels at alpha 1) of the 13 depthwise-separable blocks
BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512), (1, 512),
          (1, 512), (2, 1024), (1, 1024))
NEAR_ZERO = 1e-30  # what L2 decay leaves of a channel's weights
GAIN_SPREAD = {"conv_2d": 0.3, "depthwise_conv_2d": 0.6}  # sigma of log(folded batch norm gain) per channel
LOGIT_SCALE = 2.0  # classifier weights ~ N(0, (LOGIT_SCALE / sqrt(features))^2)


def image_inputs(count: int, size: int, seed: int = 0) -> np.ndarray:
    """Random images in [-1, 1], N x size x size x 3: blurred noise, brightness and contrast per image and colour."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-1.0, 1.0, (count, size // 4 + 2, size // 4 + 2, 3))
    fine = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)[:, :size, :size]
    fine = fine + rng.normal(0.0, 0.1, fine.shape)
    brightness, contrast = rng.uniform(-0.6, 0.6, (count, 1, 1, 3)), rng.uniform(0.2, 1.0, (count, 1, 1, 3))
    return np.clip(brightness + contrast * fine, -1.0, 1.0).astype(np.float32)


def _layer(b: GraphBuilder, rng, x: int, shape, kind: str, cout: int, stride: int, activation: str,
           near_dead: float) -> tuple[int, tuple[int, ...]]:
    _, h, w, cin = shape
    depthwise = kind == "depthwise_conv_2d"
    kernel = 1 if kind == "conv_2d" and cin > 3 else 3  # pointwise, but a 3x3 stem on the image
    if depthwise:
        cout, axis, wshape, fan_in = cin, 3, (1, 3, 3, cin), 9
        raw = rng.normal(1.0 / fan_in, np.sqrt(0.25 / fan_in), wshape)
    else:
        axis, wshape, fan_in = 0, (cout, kernel, kernel, cin), kernel * kernel * cin
        raw = rng.normal(0.0, np.sqrt(2.0 / fan_in), wshape)
    sigma = GAIN_SPREAD[kind]
    gain = np.exp(rng.normal(0.0, sigma, cout) - sigma**2)  # mean square 1: activations keep their size
    bias = rng.normal(0.0, 0.05, cout)
    dead = rng.choice(cout, size=int(round(cout * near_dead)), replace=False)
    gain[dead] = NEAR_ZERO * rng.uniform(0.5, 2.0, dead.size)
    bias[dead] = np.where(np.arange(dead.size) % 2 == 0, 1, -1) * rng.uniform(0.2, 1.0, dead.size)
    gshape = [1] * 4
    gshape[axis] = -1
    weights = (raw * gain.reshape(gshape)).astype(np.float32)
    out_shape = (1, -(-h // stride), -(-w // stride), cout)
    y = b.activation(out_shape, "float32")
    options = dict(padding="SAME", stride_h=stride, stride_w=stride, fused_activation_function=activation)
    if depthwise:
        options["depth_multiplier"] = 1
    b.op(kind, [x, b.const(weights), b.const(bias.astype(np.float32))], [y], **options)
    return y, out_shape


def mobilenet_v1_float(alpha: float = 0.25, size: int = 96, blocks: int = len(BLOCKS), classes: int = 2,
                       activation: str = "RELU", near_dead: float = 0.1, seed: int = 0) -> Graph:
    """MobileNetV1 (its first `blocks` blocks), float32, images in [-1, 1]; `near_dead` of each block's channels."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(f"mobilenet_v1_{round(alpha * 100):03d}_{size}_float")
    x = b.input((1, size, size, 3), "float32", name="image")
    y, shape = _layer(b, rng, x, (1, size, size, 3), "conv_2d", max(8, int(32 * alpha)), 2, activation, 0.0)
    for stride, width in BLOCKS[:blocks]:
        y, shape = _layer(b, rng, y, shape, "depthwise_conv_2d", 0, stride, activation, near_dead)
        y, shape = _layer(b, rng, y, shape, "conv_2d", max(8, int(width * alpha)), 1, activation, near_dead)
    _, h, w, c = shape
    pooled = b.activation((1, 1, 1, c), "float32")
    b.op("average_pool_2d", [y], [pooled], padding="VALID", filter_height=h, filter_width=w, stride_h=1, stride_w=1)
    flat = b.activation((1, c), "float32")
    b.op("reshape", [pooled, b.const(np.array([1, c], dtype=np.int32))], [flat])
    fc_w = rng.normal(0.0, LOGIT_SCALE / np.sqrt(c), (classes, c)).astype(np.float32)
    logits = b.activation((1, classes), "float32")
    b.op("fully_connected", [flat, b.const(fc_w), b.const(np.zeros(classes, np.float32))], [logits])
    probs = b.activation((1, classes), "float32")
    b.op("softmax", [logits], [probs], beta=1.0)
    return b.build([probs])
