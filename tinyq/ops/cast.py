"""CAST between int8, int16, int32, uint32, float32 and bool, as TFLM's kernel converts them.

TFLM's CAST is a static_cast per element: integers narrow modulo 2^n, integers become the
nearest float32 (ties to even), bool is 0 or 1. float32 to an integer type is undefined in
C++ outside the target's range; the golden TFLM (the tflite-micro wheel) truncates toward
zero and saturates to the target type, NaN giving 0 (measured for int8, int16 and int32
over every vector length up to 100). tinyq's kernel computes exactly that on every target,
so Arm builds, whose own conversions differ for int8/int16, still match it.

A CAST of a constant is folded before lowering (tinyq/passes/fold.py), or, when it is a graph
output (folding keeps those), computed offline the same way and copied from flash.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import DTYPES, Graph, Operator
from tinyq.ops.base import ConstArray, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.shape import COPY_CONST, CopyParams

FROM = ("int8", "int16", "int32", "uint32", "float32", "bool")
TO = ("int8", "int16", "int32", "uint32", "float32")  # TFLM cannot write bool or int64
C_TYPE = {"int8": "s8", "int16": "s16", "int32": "s32", "uint32": "u32", "float32": "f32", "bool": "b8"}
C_ARRAY = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "uint32": "uint32_t", "float32": "float"}


@dataclass(frozen=True)
class CastOptions:
    in_data_type: int = 0  # TensorType codes; TFLM ignores them and reads the tensors' types
    out_data_type: int = 0


@dataclass(frozen=True)
class CastParams:
    count: int
    function: str  # the C conversion, e.g. "tq_cast_f32_s8"


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if x.dtype not in FROM:
        raise unsupported(graph, op, f"casting from {x.dtype}: TFLM's CAST reads int8, int16, int32, uint32, "
                                     "float32 or bool", "other types need another conversion")
    if y.dtype not in TO:
        raise unsupported(graph, op, f"casting to {y.dtype}: TFLM's CAST writes int8, int16, int32, uint32 or "
                                     "float32", "other types need another conversion")
    if x.dtype == "float32" and y.dtype == "uint32":
        raise unsupported(graph, op, "casting float32 to uint32: C++ leaves negative and large values undefined and "
                                     "tinyq has not measured what the golden TFLM gives there",
                          "cast to int32 first where the values are non-negative and below 2^31")
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                          "the model's shapes are inconsistent; re-export it")
    if x.is_const:  # folding leaves a constant's CAST only when it is a graph output: copy the result
        values = qmath.tflm_cast(x.data, DTYPES[y.dtype][0]).reshape(-1)
        return Lowered(op=op, kernel="copy_const", params=CopyParams(bytes=y.nbytes), inputs=(), outputs=(y.index,),
                       consts=(ConstArray("values", C_ARRAY[y.dtype], values),))
    params = CastParams(count=x.numel, function=f"tq_cast_{C_TYPE[x.dtype]}_{C_TYPE[y.dtype]}")
    return Lowered(op=op, kernel="cast", params=params, inputs=(x.index,), outputs=(y.index,))


SPECS = [
    OpSpec(name="cast", builtin="CAST", options=CastOptions, fb_options="CastOptions", lower=lower,
           kernels=(reference_kernel("cast", inplace=ELEMENTWISE), COPY_CONST),
           doc="int8/int16/int32/uint32/float32/bool to int8/int16/int32/uint32/float32 (not float32 to uint32), "
               "TFLM's static_cast (float to integer truncates and saturates, NaN to 0, as the golden TFLM does)"),
]
