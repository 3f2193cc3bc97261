"""Constant folding: ops whose result is known before the model runs become constants.

TFLiteConverter keeps a dynamic-batch reshape as SHAPE -> STRIDED_SLICE -> PACK
-> RESHAPE; with the batch fixed at the IR's shape those all have constant
results, and TFLM (and tinyq) want the reshape's shape as a constant. Each
folder below computes an op's output from constant inputs (SHAPE needs only its
input's static shape); anything it cannot compute is left as it is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from tinyq.ir import DTYPES, Graph, Operator, Tensor
from tinyq.passes.graph_edit import compact, option, renumber_ops


def _shape(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    x = ins[0]
    if x is None or (x.shape_signature and any(d < 0 for d in x.shape_signature[1:])):
        return None  # only the batch may be dynamic: the IR fixes it at its shape
    return np.array(x.shape, dtype=DTYPES[out.dtype][0])


def _mask_bit(mask: int, axis: int) -> bool:
    return bool((int(mask) >> axis) & 1)


def _strided_slice(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if option(op, "ellipsis_mask", 0) or option(op, "new_axis_mask", 0) or option(op, "offset", False):
        return None
    x, begin, end, strides = (t.data if t is not None else None for t in ins[:4])
    if x is None or begin is None or end is None or strides is None:
        return None
    index, squeeze = [], []
    for axis in range(x.ndim):
        if axis >= len(begin):
            index.append(slice(None))
            continue
        b, e, s = int(begin[axis]), int(end[axis]), int(strides[axis])
        if _mask_bit(option(op, "shrink_axis_mask", 0), axis):
            index.append(b)
            squeeze.append(axis)
            continue
        index.append(slice(None if _mask_bit(option(op, "begin_mask", 0), axis) else b,
                           None if _mask_bit(option(op, "end_mask", 0), axis) else e, s))
    return np.asarray(x[tuple(index)])


def _pack(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if any(t is None or t.data is None for t in ins):
        return None
    return np.stack([t.data for t in ins], axis=int(option(op, "axis", 0)))


def _concatenation(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if any(t is None or t.data is None for t in ins) or option(op, "fused_activation_function", "NONE") != "NONE":
        return None
    return np.concatenate([t.data for t in ins], axis=int(option(op, "axis", 0)))


def _reshape(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return None if ins[0] is None or ins[0].data is None else ins[0].data.reshape(out.shape)


def _cast(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return None if ins[0] is None or ins[0].data is None else ins[0].data.astype(DTYPES[out.dtype][0])


def _dequantize(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    x = ins[0]
    if x is None or x.data is None:
        return None
    if x.dtype == "float16":
        return x.data.astype(np.float32)
    if x.quant is None:
        return None
    return dequantized_data(x)


def dequantized_data(t: Tensor) -> np.ndarray:
    """real = scale * (q - zero_point), per channel along the tensor's quantized axis."""
    data = np.asarray(t.data, dtype=np.float64)
    scale = np.asarray(t.quant.scale, dtype=np.float64)
    zp = np.asarray(t.quant.zero_point, dtype=np.float64)
    if t.quant.per_channel:
        shape = [1] * data.ndim
        shape[t.quant.axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((data - zp) * scale).astype(np.float32)


FOLDERS: dict[str, Callable[[Operator, list, Tensor], np.ndarray | None]] = {
    "shape": _shape,
    "strided_slice": _strided_slice,
    "pack": _pack,
    "concatenation": _concatenation,
    "reshape": _reshape,
    "cast": _cast,
    "dequantize": _dequantize,
}


def fold_constants(graph: Graph) -> Graph:
    """Replace every op a folder can compute by its constant result, then drop dead tensors."""
    tensors = list(graph.tensors)
    kept = []
    for op in graph.operators:
        folder = FOLDERS.get(op.op)
        value = None
        if folder is not None and len(op.outputs) == 1 and op.outputs[0] not in graph.outputs:
            out = tensors[op.outputs[0]]
            value = folder(op, [tensors[i] if i >= 0 else None for i in op.inputs], out)
            if value is not None and out.dtype in DTYPES:
                data = np.array(value, dtype=DTYPES[out.dtype][0]).reshape(out.shape)
                data.flags.writeable = False
                tensors[out.index] = replace(out, data=data, shape_signature=None)
                continue
        kept.append(op)
    folded = replace(graph, tensors=tuple(tensors), operators=renumber_ops(kept))
    return compact(folded) if len(kept) != len(graph.operators) else graph
