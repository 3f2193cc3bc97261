"""Constant folding: ops whose result is known before the model runs become constants.

TFLiteConverter keeps a dynamic-batch reshape as SHAPE -> STRIDED_SLICE -> PACK
-> RESHAPE (a Dense on a sequence: SHAPE -> GATHER -> REDUCE_PROD -> PACK); with the
batch fixed at the IR's shape those all have constant results, and TFLM (and tinyq)
want the reshape's shape as a constant. Only shape data folds here: a FILL of an
RNN's zero state stays an op (the ops that read it take their data from the arena);
the quantizer folds it, and what it feeds, into weights (quantize/prepare.py). Each
folder below computes an op's output from constant inputs (SHAPE needs only its
input's static shape); anything it cannot compute is left as it is, and operands
that contradict each other (a stride of 0, shapes that do not stack, a result
that does not fit the output tensor) are a one-line error naming the op.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from tinyq import qmath
from tinyq.errors import TinyqError
from tinyq.ir import DTYPES, Graph, Operator, Tensor, describe_op
from tinyq.passes.graph_edit import compact, option, renumber_ops

INDEX_DTYPES = ("int32", "int64")  # what SHAPE writes and STRIDED_SLICE's begin/end/strides hold


class Inconsistent(Exception):
    """A folder found operands that contradict each other; fold_constants names the op."""


def _int_option(op: Operator, name: str, default: int = 0) -> int:
    value = option(op, name, default)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise Inconsistent(f"option {name} is {value!r}, not an integer")
    return int(value)


def _shape(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    x = ins[0]
    if x is None or (x.shape_signature and any(d < 0 for d in x.shape_signature[1:])):
        return None  # only the batch may be dynamic: the IR fixes it at its shape
    if out.dtype not in INDEX_DTYPES:
        raise Inconsistent(f"writes {out.dtype}; SHAPE writes int32 or int64")
    return np.array(x.shape, dtype=DTYPES[out.dtype][0])


def _mask_bit(mask: int, axis: int) -> bool:
    return bool((int(mask) >> axis) & 1)


def _index_vector(t: Tensor | None, role: str) -> np.ndarray | None:
    if t is None or t.data is None:
        return None
    if t.dtype not in INDEX_DTYPES or t.data.ndim != 1:
        raise Inconsistent(f"{role} is {t.dtype}{list(t.shape)}; it must be a 1-D int32 or int64 vector")
    return np.asarray(t.data, dtype=np.int64)


def _strided_slice(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if _int_option(op, "ellipsis_mask") or _int_option(op, "new_axis_mask") or option(op, "offset", False):
        return None
    x = ins[0].data if ins[0] is not None else None
    begin, end, strides = (_index_vector(t, role) for t, role in zip(ins[1:4], ("begin", "end", "strides")))
    if x is None or begin is None or end is None or strides is None:
        return None
    if not len(begin) == len(end) == len(strides) <= x.ndim:
        raise Inconsistent(f"begin, end and strides have {len(begin)}, {len(end)} and {len(strides)} values "
                           f"for an input of rank {x.ndim}")
    if (strides == 0).any():
        raise Inconsistent("a stride is 0")
    begin_mask, end_mask = _int_option(op, "begin_mask"), _int_option(op, "end_mask")
    shrink_mask = _int_option(op, "shrink_axis_mask")
    index = []
    for axis in range(x.ndim):
        if axis >= len(begin):
            index.append(slice(None))
            continue
        b, e, s = int(begin[axis]), int(end[axis]), int(strides[axis])
        if _mask_bit(shrink_mask, axis):
            if not -x.shape[axis] <= b < x.shape[axis]:
                raise Inconsistent(f"index {b} is outside axis {axis} of size {x.shape[axis]}")
            index.append(b)
            continue
        index.append(slice(None if _mask_bit(begin_mask, axis) else b, None if _mask_bit(end_mask, axis) else e, s))
    return np.asarray(x[tuple(index)])


def _all_const(ins: list[Tensor | None]) -> bool:
    return bool(ins) and all(t is not None and t.data is not None for t in ins)


def _pack(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if not _all_const(ins):
        return None
    shapes = {t.data.shape for t in ins}
    axis = _int_option(op, "axis")
    rank = ins[0].data.ndim
    if len(shapes) != 1 or not -(rank + 1) <= axis <= rank:
        raise Inconsistent(f"cannot stack shapes {sorted(shapes)} along axis {axis}")
    return np.stack([t.data for t in ins], axis=axis)


def _concatenation(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if not _all_const(ins) or option(op, "fused_activation_function", "NONE") != "NONE":
        return None
    axis, rank = _int_option(op, "axis"), ins[0].data.ndim
    if not -rank <= axis < rank:
        raise Inconsistent(f"axis {axis} is outside rank {rank}")
    rest = {t.data.shape[:axis % rank] + t.data.shape[axis % rank + 1:] if t.data.ndim == rank else None for t in ins}
    if len(rest) != 1 or None in rest:
        raise Inconsistent(f"cannot join shapes {[list(t.shape) for t in ins]} along axis {axis}")
    return np.concatenate([t.data for t in ins], axis=axis)


def _reshape(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return None if ins[0] is None or ins[0].data is None else ins[0].data.reshape(-1)  # checked against out


def _cast(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if ins[0] is None or ins[0].data is None or out.dtype not in DTYPES or out.dtype == "int4":
        return None
    return qmath.tflm_cast(ins[0].data, DTYPES[out.dtype][0])  # out-of-range floats saturate, as TFLM's


def _broadcast_args(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if not _all_const(ins) or len(ins) != 2:
        return None
    a, b = (_index_vector(t, "shape") for t in ins)
    if out.dtype not in INDEX_DTYPES or len(out.shape) != 1 or out.shape[0] != max(len(a), len(b)):
        raise Inconsistent(f"writes {out.dtype}{list(out.shape)} for shapes of {len(a)} and {len(b)} dimensions")
    rank = out.shape[0]
    a, b = ((v + 2**31) % 2**32 - 2**31 for v in (a, b))  # TFLM holds each dimension in an int
    a = np.concatenate([np.ones(rank - len(a), np.int64), a])
    b = np.concatenate([np.ones(rank - len(b), np.int64), b])
    if ((a != b) & (a != 1) & (b != 1)).any():
        raise Inconsistent(f"shapes {a.tolist()} and {b.tolist()} do not broadcast")
    return np.where(a == 1, b, a)


def _gather(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    """Shape arithmetic only (index data): a gather of activations stays an op."""
    if len(ins) != 2 or not _all_const(ins) or ins[0].dtype not in INDEX_DTYPES or _int_option(op, "batch_dims"):
        return None
    params, indices = ins[0].data, _index_array(ins[1], "indices")
    axis = _int_option(op, "axis")
    if not -params.ndim <= axis < params.ndim:
        raise Inconsistent(f"axis {axis} is outside rank {params.ndim}")
    if ((indices < 0) | (indices >= params.shape[axis])).any():
        raise Inconsistent(f"indices {indices.tolist()} fall outside the {params.shape[axis]} entries of axis {axis}")
    return np.take(params, indices, axis=axis)


def _reduce_prod(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    """Shape arithmetic only (TFLM has no REDUCE_PROD): the product of index data over constant axes."""
    if len(ins) != 2 or not _all_const(ins) or ins[0].dtype not in INDEX_DTYPES:
        return None
    data, axes = ins[0].data, _index_array(ins[1], "axes").reshape(-1)
    if ((axes < -data.ndim) | (axes >= max(data.ndim, 1))).any():
        raise Inconsistent(f"axes {axes.tolist()} are outside rank {data.ndim}")
    return np.prod(data, axis=tuple(sorted({int(a) % max(data.ndim, 1) for a in axes})) if data.ndim else None)


def _index_array(t: Tensor, role: str) -> np.ndarray:
    if t.dtype not in INDEX_DTYPES:
        raise Inconsistent(f"{role} are {t.dtype}; they must be int32 or int64")
    return np.asarray(t.data, dtype=np.int64)


def _dequantize(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    x = ins[0]
    if x is None or x.data is None:
        return None
    if x.dtype == "float16":
        return x.data.astype(np.float32)
    if x.quant is None or x.quant.per_channel:
        return None  # TFLM's DEQUANTIZE takes channel 0's scale for every channel: lower_dequantize refuses it
    return dequantized_data(x)


def dequantized_data(t: Tensor) -> np.ndarray:
    """real = scale * (q - zero_point), per channel along the tensor's quantized axis (a 1-D tensor's
    only axis, whatever the file says: TOCO writes axis 3 on per-channel biases, and TFLM ignores it)."""
    data = np.asarray(t.data, dtype=np.float64)
    scale = np.asarray(t.quant.scale, dtype=np.float64)
    zp = np.asarray(t.quant.zero_point, dtype=np.float64)
    if t.quant.per_channel:
        shape = [1] * data.ndim
        shape[t.quant.axis if t.quant.axis < data.ndim else 0] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((data - zp) * scale).astype(np.float32)


FOLDERS: dict[str, Callable[[Operator, list, Tensor], np.ndarray | None]] = {
    "shape": _shape,
    "strided_slice": _strided_slice,
    "pack": _pack,
    "concatenation": _concatenation,
    "reshape": _reshape,
    "cast": _cast,
    "broadcast_args": _broadcast_args,
    "dequantize": _dequantize,
    "gather": _gather,
    "reduce_prod": _reduce_prod,
}


def fold_constants(graph: Graph) -> Graph:
    """Replace every op a folder can compute by its constant result, then drop dead tensors (in every
    subgraph of the model)."""
    if graph.subgraphs:
        graph = replace(graph, subgraphs=tuple(fold_constants(sub) for sub in graph.subgraphs))
    tensors = list(graph.tensors)
    kept = []
    for op in graph.operators:
        folder = FOLDERS.get(op.op)
        value = None
        if folder is not None and len(op.outputs) == 1 and op.outputs[0] not in graph.outputs:
            out = tensors[op.outputs[0]]
            try:
                value = folder(op, [tensors[i] if i >= 0 else None for i in op.inputs], out)
                if value is not None and out.dtype in DTYPES and out.dtype != "int4":
                    if np.size(value) != out.numel:
                        raise Inconsistent(f"computes {np.size(value)} values, its output {list(out.shape)} "
                                           f"holds {out.numel}")
                    with np.errstate(invalid="ignore", over="ignore"):
                        data = np.array(value, dtype=DTYPES[out.dtype][0]).reshape(out.shape)
                    data.flags.writeable = False
                    tensors[out.index] = replace(out, data=data, shape_signature=None)
                    continue
            except Inconsistent as exc:
                raise TinyqError(str(exc), where=describe_op(graph, op),
                                 hint="the model's shapes or options contradict each other; re-export it") from None
        kept.append(op)
    folded = replace(graph, tensors=tuple(tensors), operators=renumber_ops(kept))
    return compact(folded) if len(kept) != len(graph.operators) else graph
