"""SHAPE and BROADCAST_ARGS: ops on shape vectors.

SHAPE is folded into a constant on static shapes (tinyq/passes/fold.py); what reaches
lowering (a graph output, or an input with dynamic dimensions) still has the shape TFLM
reports at run time, the tensor's own dims in the file, so the kernel copies those
from flash. TFLM's SHAPE writes int32 only.

BROADCAST_ARGS of two constants is folded too; with a run-time operand the kernel
computes TFLM's BroadcastArgs (each dimension taken through an int, so int64 values
keep their low 32 bits), and where TFLM's CHECK would abort the process on two
incompatible dimensions tinyq's invoke fails instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.ops.base import ConstArray, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.operands import operand_sources


@dataclass(frozen=True)
class ShapeOptions:
    out_type: int = 0  # TensorType; TFLM ignores it and writes int32


@dataclass(frozen=True)
class CopyParams:
    bytes: int


@dataclass(frozen=True)
class BroadcastArgsParams:
    lengths: tuple[int, int]  # of the two shape vectors
    out_length: int
    wide: bool  # int64 vectors
    sources: tuple[int, ...]


def lower_shape(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if y.dtype != "int32":
        raise unsupported(graph, op, f"output is {y.dtype}; TFLM's SHAPE writes int32 only (its Eval fails otherwise)",
                          "make SHAPE's output int32")
    if list(y.shape) != [len(x.shape)]:
        raise unsupported(graph, op, f"output {list(y.shape)} cannot hold the rank-{len(x.shape)} shape",
                          "the model's shapes are inconsistent; re-export it")
    values = np.asarray(x.shape, dtype=np.int32)
    return Lowered(op=op, kernel="copy_const", params=CopyParams(bytes=y.nbytes), inputs=(), outputs=(y.index,),
                   consts=(ConstArray("values", "int32_t", values),))


def broadcast_args(a, b, out_length: int) -> list[int] | None:
    """TFLM's BroadcastArgs on two shape vectors (values through a C int), None where its CHECK fails."""
    def wrap(v: int) -> int:
        return (int(v) + 2**31) % 2**32 - 2**31
    a, b = [wrap(v) for v in a], [wrap(v) for v in b]
    out = [0] * out_length
    for i in range(out_length):  # i counts dimensions from the last
        da = a[len(a) - 1 - i] if i < len(a) else 1
        db = b[len(b) - 1 - i] if i < len(b) else 1
        if da != 1 and db != 1 and da != db:
            return None
        out[out_length - 1 - i] = db if da == 1 else da
    return out


def lower_broadcast_args(graph: Graph, op: Operator) -> Lowered:
    (a, b, *_), (y,) = io(graph, op, 2)
    if a.dtype not in ("int32", "int64") or b.dtype != a.dtype or y.dtype != a.dtype:
        raise unsupported(graph, op, f"{a.dtype}, {b.dtype} -> {y.dtype}: TFLM takes int32 or int64 shapes, the "
                                     "same type throughout", "as TFLite writes them")
    if len(a.shape) != 1 or len(b.shape) != 1 or len(y.shape) != 1:
        raise unsupported(graph, op, "shapes must be vectors (TFLM)",
                          "the model's shapes are inconsistent; re-export it")
    if y.shape[0] != max(a.shape[0], b.shape[0]):
        raise unsupported(graph, op, f"output holds {y.shape[0]} dimensions, the broadcast has "
                                     f"{max(a.shape[0], b.shape[0])}",
                          "the model's shapes are inconsistent; re-export it")
    if a.is_const and b.is_const:  # usually folded already; a graph output stays an op
        values = broadcast_args(np.asarray(a.data).tolist(), np.asarray(b.data).tolist(), y.shape[0])
        if values is None:
            raise unsupported(graph, op, f"shapes {np.asarray(a.data).tolist()} and {np.asarray(b.data).tolist()} "
                                         "do not broadcast", "TFLM aborts on them")
        ctype, np_type = ("int32_t", np.int32) if a.dtype == "int32" else ("int64_t", np.int64)
        return Lowered(op=op, kernel="copy_const", params=CopyParams(bytes=y.nbytes), inputs=(), outputs=(y.index,),
                       consts=(ConstArray("values", ctype, np.asarray(values, dtype=np_type)),))
    sources, inputs, consts = operand_sources((a, b))
    params = BroadcastArgsParams(lengths=(a.shape[0], b.shape[0]), out_length=y.shape[0], wide=a.dtype == "int64",
                                 sources=sources)
    return Lowered(op=op, kernel="broadcast_args", params=params, inputs=inputs, outputs=(y.index,), consts=consts)


COPY_CONST = reference_kernel("copy_const")

SPECS = [
    OpSpec(name="shape", builtin="SHAPE", options=ShapeOptions, fb_options="ShapeOptions", lower=lower_shape,
           kernels=(COPY_CONST,), doc="int32 output; folded to a constant, or a copy of it from flash"),
    OpSpec(name="broadcast_args", builtin="BROADCAST_ARGS", lower=lower_broadcast_args,
           kernels=(COPY_CONST, reference_kernel("broadcast_args")),
           doc="int32/int64 shape vectors; constants folded, run-time ones computed (incompatible shapes fail "
               "invoke where TFLM aborts)"),
]
