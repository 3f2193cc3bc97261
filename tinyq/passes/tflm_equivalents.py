"""Ops TFLM has no kernel for, written with ops it has, for the quantizer: the quantized model must run
where TFLM runs, and PyTorch's and Keras's exports carry a few such ops that have an exact (or, for GELU,
an approximate-to-3e-4) equivalent. One entry per op in REWRITES: a function of the op that returns the ops
replacing it, or None to leave it (the quantizer then refuses it in one line, as before).

- GELU (nn.GELU in transformers and MLP-Mixers): x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)), MUL, ADD and
  LOGISTIC - the tanh form, exactly what `approximate=True` computes, and within 3e-4 of the erf form.
- SELECT (torch.where through ai-edge-torch): SELECT_V2, the same op where the condition has the values'
  shape; a rank-1 condition picks whole rows (SELECT's rule), so it is reshaped to broadcast that way first.
- POW by a constant exponent of 2, 0.5 or -0.5 (F.normalize's and RMSNorm's): MUL, SQRT, RSQRT.
- ARG_MAX/ARG_MIN with int64 indices (tf.argmax's default) that are a model output: int32 indices, the
  only ones TFLM's kernel writes (the output's type changes with them, as the quantizer changes others').
- RELU_N1_TO_1 (PyTorch's hardtanh): MAXIMUM with -1, then MINIMUM with 1.
- TILE by constant multiples (Keras and PyTorch repeats): per tiled axis, a CONCATENATION of that many copies
  (more than ten are split as any wide CONCATENATION is: tinyq.passes.split_concat).
- FULLY_CONNECTED whose weights are computed, without bias or activation (PyTorch's `q @ k.transpose(-1, -2)` on
  3-D tensors, as litert-torch exports it): BATCH_MATMUL with adj_y, which computes the same products and which
  the quantizer takes for a product of two activations (then a RESHAPE where the FC flattened its batch).
- A comparison of float data with a constant +-inf (torch.logsumexp's check of its max): its answer for every
  finite value, a constant - the quantized model's values are all finite.
- STABLEHLO_COMPOSITE (ai-edge-torch/litert-torch wrap e.g. an avg_pool2d in one): its decomposition subgraph's
  ops, inlined, which is what LiteRT runs for it.
- STABLEHLO_REDUCE_WINDOW summing or taking the max over 2-D windows of an NHWC tensor (litert-torch's
  nn.AvgPool2d(count_include_pad=False) where PyTorch's padding is not TFLite's SAME, divisor_override, 1-D pools):
  MAX_POOL_2D, or AVERAGE_POOL_2D times the window's size, after a PAD/PADV2 where its padding is neither VALID
  nor SAME. The sum divided by the same windows' sums over a constant (PyTorch's count of the elements inside) is
  one AVERAGE_POOL_2D where that is what the division computes, else one MUL by the constant ratio; over a constant
  operand it is computed. A max over dilated windows (MaxPool2d(dilation=d)) is the MAXIMUM of one STRIDED_SLICE
  per window position. Dilated sums and other reductions stay (refused in one line).

Calibration and the quantizer's report run the rewritten float graph.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import numpy as np

from tinyq.ir import NO_TENSOR, Graph, Operator, Tensor
from tinyq.passes.graph_edit import new_op as _op
from tinyq.passes.graph_edit import option, renumber_ops
from tinyq.tflite.schema import TENSOR_TYPE_CODES

GELU_CUBIC = 0.044715
GELU_SLOPE = 2.0 * math.sqrt(2.0 / math.pi)  # sigmoid's argument per unit of (x + GELU_CUBIC x^3)


class Editor:
    """The graph's tensors, growing as rewrites add theirs."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.tensors = list(graph.tensors)
        self.subgraphs = {sub.index: sub for sub in graph.subgraphs}
        self.dropped: set[int] = set()  # later ops a rewrite made part of its own

    def consumers(self, t: int) -> list[Operator]:
        return [op for op in self.graph.operators if t in op.inputs]

    def tensor(self, like: int, what: str, shape=None, dtype=None, data=None) -> int:
        base = self.tensors[like]
        shape = data.shape if data is not None else (base.shape if shape is None else shape)
        self.tensors.append(Tensor(index=len(self.tensors), name=f"{base.name}/{what}",
                                   dtype=dtype or base.dtype, shape=tuple(shape), data=data))
        return len(self.tensors) - 1

    def constant(self, like: int, what: str, values, dtype=np.float32) -> int:
        data = np.asarray(values, dtype=dtype)
        return self.tensor(like, what, dtype=np.dtype(dtype).name, data=data)

    def is_float(self, t: int) -> bool:
        return self.tensors[t].dtype == "float32"


def gelu(ed: Editor, op: Operator) -> list[Operator] | None:
    x, (y,) = op.inputs[0], op.outputs
    if not ed.is_float(x):
        return None
    x2, x3, cubic, linear, z, gate = (ed.tensor(x, f"gelu_{w}") for w in ("x2", "x3", "cubic", "linear", "z", "gate"))
    return [_op("mul", [x, x], [x2]), _op("mul", [x2, x], [x3]),
            _op("mul", [x3, ed.constant(x, "gelu_k3", [GELU_SLOPE * GELU_CUBIC])], [cubic]),
            _op("mul", [x, ed.constant(x, "gelu_k1", [GELU_SLOPE])], [linear]),
            _op("add", [linear, cubic], [z]), _op("logistic", [z], [gate]), _op("mul", [x, gate], [y])]


def select(ed: Editor, op: Operator) -> list[Operator] | None:
    cond, a, b = op.inputs
    shape_c, shape_a = ed.tensors[cond].shape, ed.tensors[a].shape
    if shape_c == shape_a:
        return [replace(op, op="select_v2", options=None)]
    if len(shape_c) == 1 and len(shape_a) > 1 and shape_c[0] == shape_a[0]:
        rows = (shape_c[0],) + (1,) * (len(shape_a) - 1)
        column = ed.tensor(cond, "rows", shape=rows)
        dims = ed.constant(cond, "rows_shape", rows, np.int32)
        return [_op("reshape", [cond, dims], [column], new_shape=rows),
                replace(op, op="select_v2", inputs=(column, a, b), options=None)]
    return None


POW_BY = {2.0: "square", 0.5: "sqrt", -0.5: "rsqrt"}


def power(ed: Editor, op: Operator) -> list[Operator] | None:
    x, e = op.inputs
    (y,) = op.outputs
    exponent = ed.tensors[e].data
    if not ed.is_float(x) or exponent is None or np.unique(exponent).size != 1:
        return None
    how = POW_BY.get(float(np.ravel(exponent)[0]))
    if how == "square":
        return [_op("mul", [x, x], [y])]
    if how is not None:
        return [_op(how, [x], [y])]
    return None


def tile(ed: Editor, op: Operator) -> list[Operator] | None:
    x, m = op.inputs
    (y,) = op.outputs
    multiples = ed.tensors[m].data
    if multiples is None:
        return None
    multiples = [int(k) for k in np.ravel(multiples)]
    shape = list(ed.tensors[x].shape)
    if len(multiples) != len(shape) or any(k < 1 for k in multiples):
        return None
    axes = [axis for axis, k in enumerate(multiples) if k > 1]
    if not axes:  # multiples of 1: a copy, which a RESHAPE to the same shape is (the planner makes it a view)
        dims = ed.constant(x, "tile_shape", shape, np.int32)
        return [_op("reshape", [x, dims], [y], new_shape=tuple(shape))]
    ops, current = [], x
    for n, axis in enumerate(axes):
        shape[axis] *= multiples[axis]
        out = y if n == len(axes) - 1 else ed.tensor(x, f"tile{axis}", shape=shape)
        ops.append(_op("concatenation", [current] * multiples[axis], [out], axis=axis))
        current = out
    return ops


def int32_indices(ed: Editor, op: Operator) -> list[Operator] | None:
    (y,) = op.outputs
    read = any(y in other.inputs for other in ed.graph.operators)
    if ed.tensors[y].dtype != "int64" or read or y not in ed.graph.outputs:
        return None
    ed.tensors[y] = replace(ed.tensors[y], dtype="int32")
    return [replace(op, options=replace(op.options, output_type=TENSOR_TYPE_CODES["int32"]))]


def clamp_pm1(ed: Editor, op: Operator) -> list[Operator] | None:
    (x,), (y,) = op.inputs, op.outputs
    if not ed.is_float(x):
        return None
    low = ed.tensor(x, "relu_n1_low")
    return [_op("maximum", [x, ed.constant(x, "minus_one", [-1.0])], [low]),
            _op("minimum", [low, ed.constant(x, "one", [1.0])], [y])]


def computed_weights(ed: Editor, op: Operator) -> list[Operator] | None:
    x, w, *bias = op.inputs
    (y,) = op.outputs
    shape_x, shape_w = ed.tensors[x].shape, ed.tensors[w].shape
    if ed.tensors[w].data is not None or (bias and bias[0] != NO_TENSOR) or not ed.is_float(x) or \
            option(op, "fused_activation_function", "NONE") != "NONE" or len(shape_x) < 2 or len(shape_w) != 2 or \
            shape_x[-1] != shape_w[1]:
        return None
    product = tuple(shape_x[:-1]) + (shape_w[0],)
    if product == tuple(ed.tensors[y].shape):
        return [_op("batch_matmul", [x, w], [y], adj_y=True)]
    z = ed.tensor(y, "products", shape=product)
    dims = ed.constant(y, "fc_shape", ed.tensors[y].shape, np.int32)
    return [_op("batch_matmul", [x, w], [z], adj_y=True),
            _op("reshape", [z, dims], [y], new_shape=tuple(ed.tensors[y].shape))]


# comparison -> its answer for finite x against +inf (x op +inf) and -inf
WITH_INFINITY = {"equal": (False, False), "not_equal": (True, True), "less": (True, False),
                 "less_equal": (True, False), "greater": (False, True), "greater_equal": (False, True)}


def infinity_comparison(ed: Editor, op: Operator) -> list[Operator] | None:
    a, b = op.inputs
    (y,) = op.outputs
    if y in ed.graph.outputs:
        return None
    for x, c, swapped in ((a, b, False), (b, a, True)):
        inf = ed.tensors[c].data
        if ed.is_float(x) and ed.tensors[x].data is None and inf is not None and inf.size == 1 and \
                np.isinf(np.ravel(inf)[0]):
            positive = bool(np.ravel(inf)[0] > 0)
            if swapped and op.op not in ("equal", "not_equal"):  # inf op x: the mirrored comparison
                positive = not positive
            answer = WITH_INFINITY[op.op][0 if positive else 1]
            ed.tensors[y] = replace(ed.tensors[y], data=np.full(ed.tensors[y].shape, answer, np.bool_))
            return []
    return None


def composite(ed: Editor, op: Operator) -> list[Operator] | None:
    body = ed.subgraphs.get(option(op, "decomposition_subgraph_index", -1))
    if body is None or len(body.inputs) != len(op.inputs) or len(body.outputs) != len(op.outputs) or \
            len(set(body.outputs)) != len(body.outputs) or set(body.inputs) & set(body.outputs):
        return None
    mapping = {NO_TENSOR: NO_TENSOR, **dict(zip(body.inputs, op.inputs)), **dict(zip(body.outputs, op.outputs))}
    for t in body.tensors:
        if t.index not in mapping:
            ed.tensors.append(replace(t, index=len(ed.tensors), name=f"{t.name}/inlined{op.index}"))
            mapping[t.index] = len(ed.tensors) - 1
    inlined = []
    for inner in body.operators:  # its own ops TFLM lacks are rewritten too
        inner = replace(inner, inputs=tuple(mapping[t] for t in inner.inputs),
                        outputs=tuple(mapping[t] for t in inner.outputs))
        rewrite = REWRITES.get(inner.op)
        new = rewrite(ed, inner) if rewrite is not None else None
        inlined.extend([inner] if new is None else new)
    return inlined


REDUCTIONS = {"add": (np.add, "average_pool_2d"), "maximum": (np.maximum, "max_pool_2d")}


def _reduction(ed: Editor, op: Operator) -> str | None:
    """"add" or "maximum": what the body of a STABLEHLO_REDUCE_WINDOW computes, where its initial value is that
    reduction's identity (0, or -inf and below); else None."""
    body = ed.subgraphs.get(option(op, "body_subgraph_index", -1))
    if body is None or len(body.operators) != 1 or len(op.inputs) != 2:
        return None
    (inner,) = body.operators
    if inner.op not in REDUCTIONS or sorted(inner.inputs) != sorted(body.inputs) or \
            tuple(inner.outputs) != tuple(body.outputs) or option(inner, "fused_activation_function", "NONE") != "NONE":
        return None
    init = ed.tensors[op.inputs[1]].data
    if init is None or init.size != 1 or not ed.is_float(op.inputs[0]):
        return None
    start = float(np.ravel(init)[0])
    return inner.op if (start == 0.0 if inner.op == "add" else start <= float(np.finfo(np.float32).min)) else None


def _window(ed: Editor, op: Operator, dilated: bool = False) -> tuple | None:
    """(window, strides, padding pairs) of a reduce window without dilations, or None; `dilated`: (window,
    strides, padding pairs, window dilations), the input not dilated."""
    rank = len(ed.tensors[op.inputs[0]].shape)
    window = tuple(option(op, "window_dimensions", ()))
    strides = tuple(option(op, "window_strides", ()) or (1,) * rank)
    flat = tuple(option(op, "padding", ()) or (0,) * (2 * rank))
    base = tuple(option(op, "base_dilations", ()) or (1,) * rank)
    dilations = tuple(option(op, "window_dilations", ()) or (1,) * rank)
    if len(window) != rank or len(strides) != rank or len(flat) != 2 * rank or set(base) != {1} or \
            len(dilations) != rank or min(window + strides + dilations) < 1 or min(flat) < 0 or \
            (not dilated and set(dilations) != {1}):
        return None
    return (window, strides, tuple(zip(flat[0::2], flat[1::2]))) + ((dilations,) if dilated else ())


def _reduce_windows(x: np.ndarray, how: str, window, strides, pads) -> np.ndarray:
    """The reduce window's result on constant data."""
    ufunc = REDUCTIONS[how][0]
    padded = np.pad(x, pads, constant_values=0.0 if how == "add" else -np.inf)
    views = np.lib.stride_tricks.sliding_window_view(padded, window)[tuple(slice(None, None, s) for s in strides)]
    return ufunc.reduce(views, axis=tuple(range(x.ndim, 2 * x.ndim))).astype(np.float32)


def _constant_windows(ed: Editor, t: int) -> np.ndarray | None:
    """Tensor t's values where it is a constant or a reduce window over one."""
    if ed.tensors[t].data is not None:
        return np.asarray(ed.tensors[t].data, dtype=np.float32)
    producer = next((op for op in ed.graph.operators if t in op.outputs), None)
    if producer is None or producer.op != "stablehlo_reduce_window" or producer.index in ed.dropped:
        return None
    data, how, geometry = ed.tensors[producer.inputs[0]].data, _reduction(ed, producer), _window(ed, producer)
    if data is None or how is None or geometry is None:
        return None
    return _reduce_windows(np.asarray(data, dtype=np.float32), how, *geometry)


def _pool_padding(size: int, k: int, s: int, before: int, out: int) -> str | None:
    """"VALID" or "SAME" where TFLite's pool of that padding has these windows on this axis, else None."""
    if before == 0 and out == (size - k) // s + 1:
        return "VALID"
    same_out = -(-size // s)
    if out == same_out and before == max((same_out - 1) * s + k - size, 0) // 2:
        return "SAME"
    return None


def _broadcasts(shape, to) -> bool:
    return len(shape) <= len(to) and all(d in (1, t) for d, t in zip(shape[::-1], to[::-1]))


def dilated_max(ed: Editor, op: Operator) -> list[Operator] | None:
    """A max over dilated windows (nn.MaxPool2d(dilation=d)), which TFLite's pools have not: the MAXIMUM of one
    strided slice of the (PADV2-padded) input per window position."""
    geometry = _window(ed, op, dilated=True)
    x, (y,) = op.inputs[0], op.outputs
    shape, out = ed.tensors[x].shape, ed.tensors[y].shape
    if geometry is None or len(shape) != 4 or len(out) != 4 or ed.tensors[x].data is not None:
        return None
    window, strides, pads, dilations = geometry
    span = [(window[a] - 1) * dilations[a] + 1 for a in range(4)]
    if any(out[a] != (shape[a] + sum(pads[a]) - span[a]) // strides[a] + 1 for a in range(4)) or \
            window[0] * window[3] != 1 or pads[0] != (0, 0) or pads[3] != (0, 0) or window[1] * window[2] > 64:
        return None
    ops, padded = [], x
    if any(pads[a] != (0, 0) for a in (1, 2)):
        padded = ed.tensor(x, "window_padded", shape=(shape[0], shape[1] + sum(pads[1]), shape[2] + sum(pads[2]),
                                                      shape[3]))
        ops.append(_op("padv2", [x, ed.constant(x, "window_paddings", pads, np.int32), op.inputs[1]], [padded]))
    steps = ed.constant(x, "window_strides", strides, np.int32)
    current = None
    for i in range(window[1]):
        for j in range(window[2]):
            begin = (0, i * dilations[1], j * dilations[2], 0)
            end = tuple(b + (n - 1) * s + 1 for b, n, s in zip(begin, out, strides))
            part = y if window[1] * window[2] == 1 else ed.tensor(y, f"window_{i}_{j}", shape=out)
            ops.append(_op("strided_slice", [padded, ed.constant(x, "begin", begin, np.int32),
                                             ed.constant(x, "end", end, np.int32), steps], [part]))
            if current is not None:
                last = i == window[1] - 1 and j == window[2] - 1
                total = y if last else ed.tensor(y, f"window_max_{i}_{j}", shape=out)
                ops.append(_op("maximum", [current, part], [total]))
                part = total
            current = part
    return ops


def reduce_window(ed: Editor, op: Operator) -> list[Operator] | None:
    how, geometry = _reduction(ed, op), _window(ed, op)
    if how == "maximum" and geometry is None:
        return dilated_max(ed, op)
    if how is None or geometry is None:
        return None
    window, strides, pads = geometry
    x, (y,) = op.inputs[0], op.outputs
    if ed.tensors[x].data is not None:  # a constant's windows (PyTorch's count of the elements inside)
        data = np.asarray(ed.tensors[x].data, np.float32)
        ed.tensors[y] = replace(ed.tensors[y], data=_reduce_windows(data, how, window, strides, pads))
        return []
    shape, out = ed.tensors[x].shape, ed.tensors[y].shape
    if len(shape) != 4 or len(out) != 4 or window[0] != 1 or window[3] != 1 or strides[0] != 1 or \
            strides[3] != 1 or pads[0] != (0, 0) or pads[3] != (0, 0) or \
            any(out[a] != (shape[a] + sum(pads[a]) - window[a]) // strides[a] + 1 for a in (1, 2)):
        return None
    modes = {_pool_padding(shape[a], window[a], strides[a], pads[a][0], out[a]) for a in (1, 2)}
    mode = next(iter(modes)) if len(modes) == 1 else None
    area = float(window[1] * window[2])
    scale, target = np.float32(area), y
    if how == "add":
        if mode == "SAME":  # TFLite's SAME average pool divides by the elements inside, not the window's size
            mode = None
        consumers = ed.consumers(y)
        divide = consumers[0] if len(consumers) == 1 else None
        divisor = _constant_windows(ed, divide.inputs[1]) if divide is not None and divide.op == "div" and \
            divide.inputs[0] == y and y not in ed.graph.outputs else None
        if divisor is not None and _broadcasts(divisor.shape, out):  # the division is this rewrite's
            ed.dropped.add(divide.index)
            target = divide.outputs[0]
            inside = _reduce_windows(np.ones((1, shape[1], shape[2], 1), np.float32), "add", window, strides, pads)
            if modes == {"SAME"} and np.array_equal(np.broadcast_to(divisor, out), np.broadcast_to(inside, out)):
                scale, mode = np.float32(1.0), "SAME"
            else:
                scale = (area / divisor).astype(np.float32)
    ops, pooled = [], x
    if mode is None:  # the windows' own padding (as far as they reach: ceil_mode pads past the last), then VALID
        reach = [(pads[a][0], max((out[a] - 1) * strides[a] + window[a] - shape[a] - pads[a][0], 0)) for a in (1, 2)]
        pooled = ed.tensor(x, "window_padded", shape=(shape[0], shape[1] + sum(reach[0]), shape[2] + sum(reach[1]),
                                                      shape[3]))
        paddings = ed.constant(x, "window_paddings", [(0, 0), *reach, (0, 0)], np.int32)
        pad_value = [] if how == "add" else [op.inputs[1]]  # -inf where a max pool's window reaches past the edge
        ops.append(_op("pad" if how == "add" else "padv2", [x, paddings, *pad_value], [pooled]))
        mode = "VALID"
    if np.all(scale == np.ravel(scale)[0]):
        scale = np.ravel(scale)[:1]
    exact = how == "maximum" or np.all(scale == 1.0)
    pool_out = target if exact else ed.tensor(y, "window_mean", shape=out)
    ops.append(_op(REDUCTIONS[how][1], [pooled], [pool_out], padding=mode, stride_h=strides[1], stride_w=strides[2],
                   filter_height=window[1], filter_width=window[2]))
    if not exact:
        factor = scale if scale.size == 1 else scale.reshape((1,) * (4 - scale.ndim) + scale.shape)
        ops.append(_op("mul", [pool_out, ed.constant(y, "window_scale", factor)], [target]))
    return ops


REWRITES: dict[str, Callable[[Editor, Operator], list[Operator] | None]] = {
    "relu_n1_to_1": clamp_pm1,
    "arg_max": int32_indices,
    "arg_min": int32_indices,
    "gelu": gelu,
    "select": select,
    "pow": power,
    "tile": tile,
    "fully_connected": computed_weights,
    **{name: infinity_comparison for name in WITH_INFINITY},
    "stablehlo_composite": composite,
    "stablehlo_reduce_window": reduce_window,
}

# ops that name other subgraphs: while one is left, the subgraphs stay
SUBGRAPH_OPS = ("while", "if", "call_once", "call", "stablehlo_")


def with_tflm_ops(graph: Graph) -> Graph:
    """`graph` with each op of REWRITES that has an equivalent replaced by it (the same output tensors)."""
    if not any(op.op in REWRITES for op in graph.operators):
        return graph
    ed = Editor(graph)
    operators: list[Operator] = []
    changed = False
    for op in graph.operators:
        if op.index in ed.dropped:
            changed = True
            continue
        rewrite = REWRITES.get(op.op)
        new = rewrite(ed, op) if rewrite is not None else None
        operators.extend([op] if new is None else new)
        changed = changed or new is not None
    if not changed:
        return graph
    # the subgraphs the rewritten ops named (reduce window bodies, decompositions) go with them
    subgraphs = graph.subgraphs if any(op.op.startswith(SUBGRAPH_OPS) for op in operators) else ()
    return replace(graph, tensors=tuple(ed.tensors), operators=renumber_ops(operators), subgraphs=subgraphs)
