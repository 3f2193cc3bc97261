"""Random float models made with tinyq's writer: graphs no one has drawn, for `tinyq bench graphs`.

Published models repeat a few patterns; defects hide in the combinations they never make (a
softmax feeding a concatenation, a transpose before a depthwise convolution, a pad of one
column after a strided pool). A model here is a short random DAG over the ops users' float
models hold. Each op is a row of OPS: a function that, given the builder and an existing
activation, adds the op with random options and returns its output, or None where it does
not apply to that shape. Shapes follow TFLite's rules; `tinyq bench graphs` checks every
declared shape against LiteRT's before it counts a model, so a mistake here is reported as the
generator's, not tinyq's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinyq.ir import Graph
from tinyq.quantize.data import sample_shape
from tinyq.tflite.builder import GraphBuilder

F32 = "float32"
MAX_ELEMENTS = 6144  # per activation: keeps a model's quantize + verify at about a second
ACTIVATIONS = ("NONE", "NONE", "RELU", "RELU6")


@dataclass(frozen=True)
class Node:
    tensor: int
    shape: tuple[int, ...]


class Maker:
    """GraphBuilder with the random choices a generator row needs."""

    def __init__(self, seed: int, name: str):
        self.rng = np.random.default_rng(seed)
        self.b = GraphBuilder(name)
        self.nodes: list[Node] = []
        self.inputs: list[Node] = []
        self.consumed: set[int] = set()
        self.leaves: list[int] = []  # non-float results that are graph outputs (an ARG_MAX's indices)

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def input(self, shape) -> Node:
        node = Node(self.b.input(shape, F32), tuple(shape))
        self.inputs.append(node)
        self.nodes.append(node)
        return node

    def out(self, shape) -> Node | None:
        shape = tuple(int(d) for d in shape)
        if min(shape, default=1) < 1 or int(np.prod(shape)) > MAX_ELEMENTS:
            return None
        return Node(self.b.activation(shape, F32), shape)

    def weights(self, shape, fan_in: int):
        return self.b.const((self.rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))).astype(np.float32), F32)

    def floats(self, values):
        return self.b.const(np.asarray(values, dtype=np.float32), F32)

    def ints(self, values):
        return self.b.const(np.asarray(values, dtype=np.int32), "int32")

    def op(self, name: str, inputs, out: Node | None, **options) -> Node | None:
        if out is None:
            return None
        self.b.op(name, list(inputs), [out.tensor], **options)
        self.consumed.update(inputs)
        self.nodes.append(out)
        return out

    def partner(self, x: Node, same_shape: bool = True) -> int:
        """A second operand for a binary op: another activation of x's shape, a new input, or a constant
        (x's shape, one value per channel, or a scalar)."""
        same = [n for n in self.nodes if n.shape == x.shape and n.tensor != x.tensor]
        roll = self.rng.random()
        if same and roll < 0.45:
            return self.pick(same).tensor
        if roll < 0.6:
            return self.input(x.shape).tensor
        if same_shape or roll < 0.75:
            return self.floats(self.rng.normal(0, 1, x.shape))
        return self.floats(self.rng.normal(0, 1, x.shape[-1:] if self.chance(0.5) else ()))


def _window(size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "SAME":
        return -(-size // stride)
    return -(-(size - (k - 1) * dilation) // stride)


def conv_2d(m: Maker, x: Node):
    if len(x.shape) != 4:
        return None
    _, h, w, c = x.shape
    kh, kw = m.pick((1, 2, 3, 5)), m.pick((1, 2, 3, 5))
    stride, dilation, padding = m.pick((1, 1, 2)), (2 if m.chance(0.15) else 1), m.pick(("SAME", "VALID"))
    cout = m.pick((1, 2, 3, 5, 8, 16, 17))
    y = m.out((x.shape[0], _window(h, kh, stride, dilation, padding), _window(w, kw, stride, dilation, padding), cout))
    if y is None:
        return None
    bias = m.floats(m.rng.normal(0, 0.1, cout))
    return m.op("conv_2d", [x.tensor, m.weights((cout, kh, kw, c), kh * kw * c), bias], y, padding=padding,
                stride_w=stride, stride_h=stride, dilation_w_factor=dilation, dilation_h_factor=dilation,
                fused_activation_function=m.pick(ACTIVATIONS))


def depthwise_conv_2d(m: Maker, x: Node):
    if len(x.shape) != 4:
        return None
    _, h, w, c = x.shape
    k, stride, padding = m.pick((1, 3, 5)), m.pick((1, 1, 2)), m.pick(("SAME", "VALID"))
    mult = m.pick((1, 1, 2))
    dilation = 2 if m.chance(0.15) else 1
    y = m.out((x.shape[0], _window(h, k, stride, dilation, padding), _window(w, k, stride, dilation, padding), c * mult))
    if y is None:
        return None
    bias = m.floats(m.rng.normal(0, 0.1, c * mult))
    return m.op("depthwise_conv_2d", [x.tensor, m.weights((1, k, k, c * mult), k * k), bias], y, padding=padding,
                stride_w=stride, stride_h=stride, depth_multiplier=mult, dilation_w_factor=dilation,
                dilation_h_factor=dilation, fused_activation_function=m.pick(ACTIVATIONS))


def transpose_conv(m: Maker, x: Node):
    if len(x.shape) != 4:
        return None
    n, h, w, c = x.shape
    k, stride, padding = m.pick((2, 3)), m.pick((1, 2)), m.pick(("SAME", "VALID"))
    cout = m.pick((1, 3, 4, 8))
    oh, ow = (h * stride, w * stride) if padding == "SAME" else ((h - 1) * stride + k, (w - 1) * stride + k)
    y = m.out((n, oh, ow, cout))
    if y is None:
        return None
    inputs = [m.ints([n, oh, ow, cout]), m.weights((cout, k, k, c), k * k * c), x.tensor]
    if m.chance(0.6):
        inputs.append(m.floats(m.rng.normal(0, 0.1, cout)))
    return m.op("transpose_conv", inputs, y, padding=padding, stride_w=stride, stride_h=stride)


def _pool(name):
    def make(m: Maker, x: Node):
        if len(x.shape) != 4:
            return None
        n, h, w, c = x.shape
        k, stride, padding = m.pick((2, 3)), m.pick((1, 2)), m.pick(("SAME", "VALID"))
        y = m.out((n, _window(h, k, stride, 1, padding), _window(w, k, stride, 1, padding), c))
        if y is None:
            return None
        return m.op(name, [x.tensor], y, padding=padding, stride_w=stride, stride_h=stride, filter_width=k,
                    filter_height=k, fused_activation_function=m.pick(ACTIVATIONS))
    return make


def fully_connected(m: Maker, x: Node):
    if len(x.shape) != 2:
        return None
    units = m.pick((1, 4, 10, 16, 33))
    y = m.out((x.shape[0], units))
    if y is None:
        return None
    inputs = [x.tensor, m.weights((units, x.shape[1]), x.shape[1])]
    inputs.append(m.floats(m.rng.normal(0, 0.1, units)) if m.chance(0.8) else -1)
    return m.op("fully_connected", inputs, y, fused_activation_function=m.pick(ACTIVATIONS))


def batch_matmul(m: Maker, x: Node):
    if len(x.shape) != 3:
        return None
    b, rows, k = x.shape
    cols = m.pick((2, 5, 8))
    y = m.out((b, rows, cols))
    if y is None:
        return None
    other = m.weights((k, cols), k) if m.chance(0.5) else m.input((b, k, cols)).tensor
    return m.op("batch_matmul", [x.tensor, other], y)


def flatten(m: Maker, x: Node):
    if len(x.shape) < 3:
        return None
    shape = (x.shape[0], int(np.prod(x.shape[1:])))
    return m.op("reshape", [x.tensor, m.ints(shape)], m.out(shape), new_shape=list(shape))


def to_sequence(m: Maker, x: Node):
    """(n, h, w, c) -> (n, h, w c): how audio models turn feature maps into frames."""
    if len(x.shape) != 4:
        return None
    shape = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    return m.op("reshape", [x.tensor, m.ints(shape)], m.out(shape), new_shape=list(shape))


def transpose(m: Maker, x: Node):
    if len(x.shape) < 2:
        return None
    perm = [0] + list(1 + m.rng.permutation(len(x.shape) - 1))
    return m.op("transpose", [x.tensor, m.ints(perm)], m.out([x.shape[p] for p in perm]))


def pad(m: Maker, x: Node):
    rank = len(x.shape)
    pads = [[0, 0]] + [[int(m.rng.integers(0, 3)), int(m.rng.integers(0, 3))] for _ in range(rank - 1)]
    y = m.out([d + a + b for d, (a, b) in zip(x.shape, pads)])
    if y is None:
        return None
    if m.chance(0.3):
        return m.op("padv2", [x.tensor, m.ints(pads), m.floats(float(m.rng.normal(0, 1)))], y)
    return m.op("pad", [x.tensor, m.ints(pads)], y)


def mean(m: Maker, x: Node):
    if len(x.shape) < 2:
        return None
    axes = [1, 2] if len(x.shape) == 4 and m.chance(0.6) else [len(x.shape) - 1]
    keep = m.chance(0.5)
    shape = reduced_shape(x.shape, axes, keep)
    return m.op(m.pick(("mean", "mean", "sum", "reduce_max")), [x.tensor, m.ints(axes)], m.out(shape), keep_dims=keep)


def reduced_shape(shape, axes, keep: bool) -> list[int]:
    """A reduction's output shape: the axes kept as 1 or dropped."""
    return [1 if i in axes else d for i, d in enumerate(shape)] if keep else \
        [d for i, d in enumerate(shape) if i not in axes]


def concatenation(m: Maker, x: Node):
    axis = int(m.rng.integers(1, len(x.shape))) if len(x.shape) > 1 else 0
    fits = [n for n in m.nodes if len(n.shape) == len(x.shape)
            and all(a == b for i, (a, b) in enumerate(zip(n.shape, x.shape)) if i != axis)]
    others = [m.pick(fits) for _ in range(int(m.rng.integers(1, 3)))]
    shape = list(x.shape)
    shape[axis] = x.shape[axis] + sum(n.shape[axis] for n in others)
    return m.op("concatenation", [x.tensor] + [n.tensor for n in others], m.out(shape), axis=axis)


def _binary(name, activation=False):
    def make(m: Maker, x: Node):
        options = {"fused_activation_function": m.pick(ACTIVATIONS)} if activation else {}
        return m.op(name, [x.tensor, m.partner(x, same_shape=False)], m.out(x.shape), **options)
    return make


def _unary(name, **options):
    def make(m: Maker, x: Node):
        return m.op(name, [x.tensor], m.out(x.shape), **options)
    return make


def leaky_relu(m: Maker, x: Node):
    return m.op("leaky_relu", [x.tensor], m.out(x.shape), alpha=float(m.pick((0.01, 0.1, 0.2, 0.3))))


def prelu(m: Maker, x: Node):
    alpha = m.floats(m.rng.uniform(0.0, 0.5, x.shape[-1:]))
    return m.op("prelu", [x.tensor, alpha], m.out(x.shape))


def softmax(m: Maker, x: Node):
    return m.op("softmax", [x.tensor], m.out(x.shape), beta=float(m.pick((1.0, 1.0, 0.5, 2.0))))


def resize(m: Maker, x: Node):
    if len(x.shape) != 4:
        return None
    size = [m.pick((x.shape[1] * 2, x.shape[1] + 1, max(1, x.shape[1] // 2))), m.pick((x.shape[2] * 2, x.shape[2] + 3))]
    y = m.out((x.shape[0], size[0], size[1], x.shape[3]))
    if y is None:
        return None
    align = m.chance(0.3)
    return m.op(m.pick(("resize_bilinear", "resize_nearest_neighbor")), [x.tensor, m.ints(size)], y,
                align_corners=align, half_pixel_centers=not align and m.chance(0.5))


def strided_slice(m: Maker, x: Node):
    begin, end, strides, shape = [], [], [], []
    for i, d in enumerate(x.shape):
        lo = 0 if i == 0 else int(m.rng.integers(0, max(1, d // 2)))
        step = 1 if i == 0 else int(m.pick((1, 1, 2)))
        begin.append(lo), end.append(d), strides.append(step), shape.append(-(-(d - lo) // step))
    return m.op("strided_slice", [x.tensor, m.ints(begin), m.ints(end), m.ints(strides)], m.out(shape))


def space_to_depth(m: Maker, x: Node):
    if len(x.shape) != 4 or x.shape[1] % 2 or x.shape[2] % 2:
        return None
    n, h, w, c = x.shape
    return m.op("space_to_depth", [x.tensor], m.out((n, h // 2, w // 2, c * 4)), block_size=2)


def l2_normalization(m: Maker, x: Node):
    return m.op("l2_normalization", [x.tensor], m.out(x.shape))


def split(m: Maker, x: Node):
    """SPLIT (or SPLIT_V) on a random axis; every part is an activation, the unread ones become outputs."""
    axis = int(m.rng.integers(1, len(x.shape))) if len(x.shape) > 1 else 0
    n = m.pick([k for k in (2, 3, 4) if x.shape[axis] % k == 0] or [1])
    if n == 1:
        return None
    part = list(x.shape)
    part[axis] //= n
    outs = [m.out(part) for _ in range(n)]
    if m.chance(0.5):
        m.b.op("split", [m.ints(axis), x.tensor], [o.tensor for o in outs], num_splits=n)
    else:
        m.b.op("split_v", [x.tensor, m.ints([x.shape[axis] // n] * n), m.ints(axis)], [o.tensor for o in outs],
               num_splits=n)
    m.consumed.add(x.tensor)
    m.nodes.extend(outs)
    return outs[0]


def pack(m: Maker, x: Node):
    others = [n for n in m.nodes if n.shape == x.shape and n.tensor != x.tensor]
    if not others or len(x.shape) > 3:
        return None
    axis = int(m.rng.integers(0, len(x.shape) + 1))
    inputs = [x, m.pick(others)]
    shape = list(x.shape)
    shape.insert(axis, 2)
    return m.op("pack", [n.tensor for n in inputs], m.out(shape), values_count=2, axis=axis)


def expand_squeeze(m: Maker, x: Node):
    if len(x.shape) >= 4:
        ones = [i for i, d in enumerate(x.shape) if d == 1 and i > 0]
        if not ones:
            return None
        return m.op("squeeze", [x.tensor], m.out([d for i, d in enumerate(x.shape) if i != ones[0]]),
                    squeeze_dims=[ones[0]])
    axis = int(m.rng.integers(1, len(x.shape) + 1))
    shape = list(x.shape)
    shape.insert(axis, 1)
    return m.op("expand_dims", [x.tensor, m.ints(axis)], m.out(shape))


def gather(m: Maker, x: Node):
    axis = int(m.rng.integers(1, len(x.shape))) if len(x.shape) > 1 else 0
    count = int(m.rng.integers(1, 2 * x.shape[axis] + 1))
    indices = m.rng.integers(0, x.shape[axis], count)
    shape = list(x.shape)
    shape[axis] = count
    return m.op("gather", [x.tensor, m.ints(indices)], m.out(shape), axis=axis)


def slice_op(m: Maker, x: Node):
    begin = [0] + [int(m.rng.integers(0, d)) for d in x.shape[1:]]
    size = [x.shape[0]] + [int(m.rng.integers(1, d - b + 1)) for d, b in zip(x.shape[1:], begin[1:])]
    if m.chance(0.3):  # -1: to the end
        size[-1] = -1
    shape = [x.shape[i] - begin[i] if s == -1 else s for i, s in enumerate(size)]
    return m.op("slice", [x.tensor, m.ints(begin), m.ints(size)], m.out(shape))


def mirror_pad(m: Maker, x: Node):
    if len(x.shape) != 4 or min(x.shape[1:3]) < 3:
        return None
    pads = [[0, 0], [1, int(m.rng.integers(0, 3))], [int(m.rng.integers(0, 3)), 1], [0, 0]]
    y = m.out([d + a + b for d, (a, b) in zip(x.shape, pads)])
    return m.op("mirror_pad", [x.tensor, m.ints(pads)], y, mode=m.pick(("REFLECT", "SYMMETRIC")))


def depth_to_space(m: Maker, x: Node):
    if len(x.shape) != 4 or x.shape[3] % 4:
        return None
    n, h, w, c = x.shape
    return m.op("depth_to_space", [x.tensor], m.out((n, h * 2, w * 2, c // 4)), block_size=2)


def log_softmax(m: Maker, x: Node):
    return m.op("log_softmax", [x.tensor], m.out(x.shape))


def exp(m: Maker, x: Node):
    """exp of a tensor squashed by tanh first: exp of raw data overflows float32 as often as not."""
    t = m.op("tanh", [x.tensor], m.out(x.shape))
    return m.op("exp", [t.tensor], m.out(x.shape))


def rsqrt_norm(m: Maker, x: Node):
    """x * rsqrt(mean(x^2) + eps): an RMSNorm, as transformer exports write it."""
    if len(x.shape) < 2:
        return None
    sq = m.op("mul", [x.tensor, x.tensor], m.out(x.shape))
    keep = list(x.shape[:-1]) + [1]
    ms = m.op("mean", [sq.tensor, m.ints([len(x.shape) - 1])], m.out(keep), keep_dims=True)
    eps = m.op("add", [ms.tensor, m.floats([1e-5])], m.out(keep))
    r = m.op("rsqrt", [eps.tensor], m.out(keep))
    return m.op("mul", [x.tensor, r.tensor], m.out(x.shape))


def div(m: Maker, x: Node):
    """x / (|y| + 1): a divisor away from 0."""
    other = m.partner(x)
    a = m.op("abs", [other], m.out(x.shape))
    d = m.op("add", [a.tensor, m.floats([1.0])], m.out(x.shape))
    return m.op("div", [x.tensor, d.tensor], m.out(x.shape))


def select(m: Maker, x: Node):
    cond = Node(m.b.activation(x.shape, "bool"), x.shape)
    m.b.op(m.pick(("greater", "less", "greater_equal")), [x.tensor, m.partner(x)], [cond.tensor])
    return m.op("select_v2", [cond.tensor, x.tensor, m.partner(x)], m.out(x.shape))


def cumsum(m: Maker, x: Node):
    axis = int(m.rng.integers(1, len(x.shape))) if len(x.shape) > 1 else 0
    return m.op("cumsum", [x.tensor, m.ints(axis)], m.out(x.shape), exclusive=m.chance(0.3), reverse=m.chance(0.3))


def reverse(m: Maker, x: Node):
    axis = int(m.rng.integers(1, len(x.shape))) if len(x.shape) > 1 else 0
    return m.op("reverse_v2", [x.tensor, m.ints([axis])], m.out(x.shape))


def arg_max(m: Maker, x: Node):
    """ARG_MAX over the last axis: an int32 output (a leaf; nothing float reads it)."""
    if len(x.shape) < 2:
        return None
    y = Node(m.b.activation(x.shape[:-1], "int32"), tuple(x.shape[:-1]))
    m.b.op(m.pick(("arg_max", "arg_min")), [x.tensor, m.ints([len(x.shape) - 1])], [y.tensor], output_type=2)
    m.consumed.add(x.tensor)
    m.leaves.append(y.tensor)
    return x


def lstm(m: Maker, x: Node):
    """A float UNIDIRECTIONAL_SEQUENCE_LSTM (Keras's LSTM layer: batch-major, TFLM's 24 inputs, the hidden and
    cell state as variables) over a (batch, steps, features) activation."""
    if len(x.shape) != 3:
        return None
    batches, steps, features = x.shape
    hidden = m.pick((3, 8, 16))
    y = m.out((batches, steps, hidden))
    if y is None:
        return None
    inputs = [-1] * 24
    inputs[0] = x.tensor
    for w_in, w_rec in ((1, 5), (2, 6), (3, 7), (4, 8)):
        inputs[w_in] = m.weights((hidden, features), features)
        inputs[w_rec] = m.weights((hidden, hidden), hidden)
    for position in (12, 13, 14, 15):
        inputs[position] = m.floats(m.rng.normal(0, 0.2, hidden) + (1.0 if position == 13 else 0.0))
    inputs[18] = m.b.variable((batches, hidden), dtype=F32)
    inputs[19] = m.b.variable((batches, hidden), dtype=F32)
    return m.op("unidirectional_sequence_lstm", inputs, y, fused_activation_function="TANH", cell_clip=0.0,
                time_major=False)


# name -> (generator, how often it is drawn)
OPS: dict[str, tuple[Callable, int]] = {
    "conv_2d": (conv_2d, 6), "depthwise_conv_2d": (depthwise_conv_2d, 4), "transpose_conv": (transpose_conv, 1),
    "average_pool_2d": (_pool("average_pool_2d"), 2), "max_pool_2d": (_pool("max_pool_2d"), 2),
    "fully_connected": (fully_connected, 4), "batch_matmul": (batch_matmul, 2),
    "flatten": (flatten, 3), "to_sequence": (to_sequence, 2), "transpose": (transpose, 2), "pad": (pad, 2),
    "mean": (mean, 2), "concatenation": (concatenation, 3),
    "add": (_binary("add", activation=True), 4), "sub": (_binary("sub", activation=True), 2),
    "mul": (_binary("mul", activation=True), 3), "maximum": (_binary("maximum"), 1),
    "minimum": (_binary("minimum"), 1), "squared_difference": (_binary("squared_difference"), 1),
    "relu": (_unary("relu"), 2), "relu6": (_unary("relu6"), 1), "tanh": (_unary("tanh"), 2),
    "logistic": (_unary("logistic"), 2), "hard_swish": (_unary("hard_swish"), 2), "abs": (_unary("abs"), 1),
    "elu": (_unary("elu"), 1), "gelu": (_unary("gelu"), 1), "leaky_relu": (leaky_relu, 2), "prelu": (prelu, 1),
    "softmax": (softmax, 2), "resize": (resize, 1), "strided_slice": (strided_slice, 2),
    "space_to_depth": (space_to_depth, 1), "l2_normalization": (l2_normalization, 1),
    "split": (split, 2), "pack": (pack, 1), "expand_squeeze": (expand_squeeze, 1), "gather": (gather, 1),
    "slice": (slice_op, 1), "mirror_pad": (mirror_pad, 1), "depth_to_space": (depth_to_space, 1),
    "log_softmax": (log_softmax, 1), "exp": (exp, 1), "rsqrt_norm": (rsqrt_norm, 1), "div": (div, 1),
    "select": (select, 1), "cumsum": (cumsum, 1), "reverse": (reverse, 1), "arg_max": (arg_max, 1),
    "lstm": (lstm, 2),
}
INPUT_SHAPES = ((1, 8, 8, 3), (1, 12, 10, 1), (1, 16, 16, 4), (1, 9, 7, 8), (1, 49, 10, 1), (1, 32), (1, 20, 12),
                (2, 6, 6, 2), (1, 5, 64))


@dataclass(frozen=True)
class RandomModel:
    seed: int
    graph: Graph
    ops: tuple[str, ...]  # the generator rows drawn, in order
    scales: tuple[float, ...]  # per input: the spread of its calibration data
    offsets: tuple[float, ...]


def random_model(seed: int, max_ops: int = 8, ops: dict | None = None) -> RandomModel:
    """`ops`: the generator table (default OPS; graphs_more.OP_SETS names the others)."""
    ops = ops or OPS
    m = Maker(seed, f"random{seed}")
    m.input(m.pick(INPUT_SHAPES))
    names, weights = list(ops), np.array([w for _, w in ops.values()], dtype=float)
    drawn: list[str] = []
    target = int(m.rng.integers(2, max_ops + 1))
    for _ in range(40 * target):
        if len(drawn) == target:
            break
        # mostly the newest activation (a chain), sometimes an earlier one (a branch)
        x = m.nodes[-1] if m.chance(0.7) else m.pick(m.nodes)
        name = names[int(m.rng.choice(len(names), p=weights / weights.sum()))]
        if ops[name][0](m, x) is not None:
            drawn.append(name)
    leaves = [n.tensor for n in m.nodes if n.tensor not in m.consumed and n not in m.inputs]
    outputs = (leaves[-2:] if leaves else [m.nodes[-1].tensor]) + m.leaves[-1:]
    scales = tuple(float(m.pick((0.05, 1.0, 1.0, 30.0))) for _ in m.inputs)
    offsets = tuple(float(m.pick((0.0, 0.0, 0.5, -2.0))) * s for s in scales)
    return RandomModel(seed, m.b.build(outputs), tuple(drawn), scales, offsets)


def calibration(model: RandomModel, n: int, seed: int = 1) -> list[np.ndarray]:
    """n samples per input: normal around the input's offset with its spread (batch dimension first)."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n,) + sample_shape(model.graph.tensors[t])) * s + o).astype(np.float32)
            for t, s, o in zip(model.graph.inputs, model.scales, model.offsets)]
