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

Calibration and the quantizer's report run the rewritten float graph.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.passes.graph_edit import renumber_ops
from tinyq.tflite.schema import TENSOR_TYPE_CODES

GELU_CUBIC = 0.044715
GELU_SLOPE = 2.0 * math.sqrt(2.0 / math.pi)  # sigmoid's argument per unit of (x + GELU_CUBIC x^3)


class Editor:
    """The graph's tensors, growing as rewrites add theirs."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.tensors = list(graph.tensors)

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


def _op(name: str, inputs, outputs, **options) -> Operator:
    from tinyq.ops import by_name

    spec = by_name(name).options
    return Operator(index=0, op=name, inputs=tuple(inputs), outputs=tuple(outputs),
                    options=spec(**options) if spec is not None else None)


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


REWRITES: dict[str, Callable[[Editor, Operator], list[Operator] | None]] = {
    "relu_n1_to_1": clamp_pm1,
    "arg_max": int32_indices,
    "arg_min": int32_indices,
    "gelu": gelu,
    "select": select,
    "pow": power,
    "tile": tile,
}


def with_tflm_ops(graph: Graph) -> Graph:
    """`graph` with each op of REWRITES that has an equivalent replaced by it (the same output tensors)."""
    if not any(op.op in REWRITES for op in graph.operators):
        return graph
    ed = Editor(graph)
    operators: list[Operator] = []
    changed = False
    for op in graph.operators:
        rewrite = REWRITES.get(op.op)
        new = rewrite(ed, op) if rewrite is not None else None
        operators.extend([op] if new is None else new)
        changed = changed or new is not None
    if not changed:
        return graph
    return replace(graph, tensors=tuple(ed.tensors), operators=renumber_ops(operators))
