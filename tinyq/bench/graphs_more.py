"""More generator rows for `tinyq bench graphs --ops all`: the ops tinyq quantizes that graphs.OPS does not draw.

A separate table, so that a seed of the base set (`--ops base`, the default) stays the model earlier
runs and notes name. The rows follow graphs.py's contract: add the op with random options and return
its output node, or None where it does not apply to that shape. TFLM runs several of these in
float32 only (rounding, trigonometry, L2 pooling, floor division): a quantized model keeps them
float between DEQUANTIZE and QUANTIZE, which is what these rows check.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinyq.bench.graphs import OPS, Maker, Node, _pool, _unary, reduced_shape


def add_n(m: Maker, x: Node):
    inputs = [x.tensor] + [m.partner(x) for _ in range(int(m.rng.integers(1, 3)))]
    return m.op("add_n", inputs, m.out(x.shape))


def space_batch_round_trip(m: Maker, x: Node):
    """SPACE_TO_BATCH_ND (block 2, padded to even) then, half the time, BATCH_TO_SPACE_ND cropping it back."""
    if len(x.shape) != 4:
        return None
    n, h, w, c = x.shape
    pads = [[0, h % 2], [w % 2, 0]]
    inner = m.out((n * 4, (h + h % 2) // 2, (w + w % 2) // 2, c))
    y = m.op("space_to_batch_nd", [x.tensor, m.ints([2, 2]), m.ints(pads)], inner)
    if y is None or m.chance(0.5):
        return y
    return m.op("batch_to_space_nd", [y.tensor, m.ints([2, 2]), m.ints(pads)], m.out(x.shape))


def broadcast_to(m: Maker, x: Node):
    """A (1, ..., c) tensor broadcast over a new leading dimension of 2 or 3."""
    if len(x.shape) > 4 or x.shape[0] != 1:
        return None
    shape = (m.pick((2, 3)),) + x.shape
    return m.op("broadcast_to", [x.tensor, m.ints(shape)], m.out(shape), version=2)  # LiteRT registers 2 and 3


def gather_nd(m: Maker, x: Node):
    """Rows picked by (batch, row) pairs: indices of depth 2 over a rank >= 3 tensor."""
    if len(x.shape) < 3:
        return None
    count = int(m.rng.integers(1, 2 * x.shape[1] + 1))
    indices = np.stack([m.rng.integers(0, x.shape[0], count), m.rng.integers(0, x.shape[1], count)], axis=1)
    return m.op("gather_nd", [x.tensor, m.ints(indices)], m.out((count,) + x.shape[2:]))


def reduce_min(m: Maker, x: Node):
    if len(x.shape) < 2:
        return None
    axes = [int(m.rng.integers(1, len(x.shape)))]
    keep = m.chance(0.5)
    shape = reduced_shape(x.shape, axes, keep)
    return m.op("reduce_min", [x.tensor, m.ints(axes)], m.out(shape), keep_dims=keep)


def unpack(m: Maker, x: Node):
    """UNPACK along an axis of 2 to 4; every part is an activation, the unread ones become outputs."""
    axes = [i for i, d in enumerate(x.shape) if 2 <= d <= 4 and i > 0]
    if not axes:
        return None
    axis = m.pick(axes)
    part = [d for i, d in enumerate(x.shape) if i != axis]
    outs = [m.out(part) for _ in range(x.shape[axis])]
    if any(o is None for o in outs):
        return None
    m.b.op("unpack", [x.tensor], [o.tensor for o in outs], num=x.shape[axis], axis=axis)
    m.consumed.add(x.tensor)
    m.nodes.extend(outs)
    return outs[0]


def _positive(m: Maker, x: Node, offset: float) -> Node | None:
    a = m.op("abs", [x.tensor], m.out(x.shape))
    return a and m.op("add", [a.tensor, m.floats([offset])], m.out(x.shape))


def _of_positive(name: str, offset: float):
    """An op of |x| + offset (LOG, SQRT and RSQRT take positive inputs)."""
    def make(m: Maker, x: Node):
        p = _positive(m, x, offset)
        return p and m.op(name, [p.tensor], m.out(x.shape))
    return make


def _divided(name: str):
    """FLOOR_DIV / FLOOR_MOD by |y| + 1: a divisor away from 0."""
    def make(m: Maker, x: Node):
        d = _positive(m, Node(m.partner(x), x.shape), 1.0)
        return d and m.op(name, [x.tensor, d.tensor], m.out(x.shape))
    return make


def embedding_lookup(m: Maker, x: Node):
    """Rows of a 2-D activation looked up by constant ids (the activation is the table)."""
    if len(x.shape) != 2:
        return None
    ids = m.rng.integers(0, x.shape[0], int(m.rng.integers(1, 6)))
    return m.op("embedding_lookup", [m.ints(ids), x.tensor], m.out((len(ids), x.shape[1])))


def compare_select(m: Maker, x: Node):
    """The comparisons graphs.select does not draw, choosing between x and a partner."""
    cond = Node(m.b.activation(x.shape, "bool"), x.shape)
    m.b.op(m.pick(("equal", "not_equal", "less_equal")), [x.tensor, m.partner(x)], [cond.tensor])
    return m.op("select_v2", [cond.tensor, x.tensor, m.partner(x)], m.out(x.shape))


# name -> (generator, how often it is drawn): the base set's rows keep their weights
MORE_OPS: dict[str, tuple[Callable, int]] = {
    "add_n": (add_n, 1), "space_to_batch_nd": (space_batch_round_trip, 1), "broadcast_to": (broadcast_to, 1),
    "gather_nd": (gather_nd, 1), "l2_pool_2d": (_pool("l2_pool_2d"), 1), "reduce_min": (reduce_min, 1),
    "unpack": (unpack, 1), "floor": (_unary("floor"), 1), "ceil": (_unary("ceil"), 1), "round": (_unary("round"), 1),
    "sin": (_unary("sin"), 1), "cos": (_unary("cos"), 1), "square": (_unary("square"), 1), "neg": (_unary("neg"), 1),
    "log": (_of_positive("log", 1e-3), 1), "sqrt": (_of_positive("sqrt", 0.0), 1),
    "rsqrt": (_of_positive("rsqrt", 1e-2), 1), "floor_div": (_divided("floor_div"), 1),
    "floor_mod": (_divided("floor_mod"), 1), "embedding_lookup": (embedding_lookup, 1),
    "zeros_like": (_unary("zeros_like"), 1), "compare_select": (compare_select, 1),
}
OP_SETS = {"base": OPS, "all": {**OPS, **MORE_OPS}}
