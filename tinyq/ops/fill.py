"""FILL (int8/int32/float32, constant dims, constant or run-time value) and ZEROS_LIKE
(int8/int32/int64/float32).

Neither reads data that changes the output's shape: FILL's dims must be constant (TFLM
refuses others) and match the output, so only the value is copied at run time; ZEROS_LIKE
never reads its input's data at all. A int8 value is copied as it is, whatever the
output's quantization (TFLM does not rescale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import DTYPES, Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_const
from tinyq.ops.operands import operand_sources

FILL_DTYPES = ("int8", "int32", "float32")  # TFLM's FillEval
DIMS_DTYPES = ("int8", "int16", "int32", "int64")  # what FillPrepare compares against the output shape
ZEROS_DTYPES = ("int8", "int32", "int64", "float32")  # TFLM's ZerosLikeEval


@dataclass(frozen=True)
class FillOptions:
    pass


@dataclass(frozen=True)
class ZerosLikeOptions:
    pass


@dataclass(frozen=True)
class FillParams:
    count: int
    item: int
    sources: tuple[int, ...]  # the value: arena slot, or -1 for the flash array operand0


@dataclass(frozen=True)
class ZerosParams:
    bytes: int


def lower_fill(graph: Graph, op: Operator) -> Lowered:
    (dims, value, *_), (y,) = io(graph, op, 2)
    require_const(graph, op, dims, "dims")  # TFLM: "Non-constant >dims< tensor is not supported"
    if dims.dtype not in DIMS_DTYPES or len(dims.shape) != 1:
        raise unsupported(graph, op, f"dims are {dims.dtype}{list(dims.shape)}; TFLM takes a vector of "
                                     f"{'/'.join(DIMS_DTYPES)}", "as TFLite writes them")
    if np.asarray(dims.data).reshape(-1).tolist() != list(y.shape):
        raise unsupported(graph, op, f"dims {np.asarray(dims.data).tolist()} are not the output's shape "
                                     f"{list(y.shape)}", "TFLM requires them to be equal")
    if value.shape:
        raise unsupported(graph, op, f"value has shape {list(value.shape)}; TFLM takes a scalar",
                          "the model's shapes are inconsistent; re-export it")
    if y.dtype not in FILL_DTYPES or value.dtype != y.dtype:
        raise unsupported(graph, op, f"{value.dtype} value into {y.dtype}: TFLM fills int8, int32 or float32 "
                                     "with a value of the same type",
                          "quantize the model to int8 (tinyq quantize) or convert the tensors")
    sources, inputs, consts = operand_sources((value,))
    params = FillParams(count=y.numel, item=DTYPES[y.dtype][1], sources=sources)
    return Lowered(op=op, kernel="fill", params=params, inputs=inputs, outputs=(y.index,), consts=consts)


def lower_zeros_like(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if x.dtype not in ZEROS_DTYPES or y.dtype != x.dtype:
        raise unsupported(graph, op, f"{x.dtype} -> {y.dtype}: TFLM's ZEROS_LIKE takes int8, int32, int64 or "
                                     "float32, the same on both sides", "cast the tensor first, or use FILL")
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                          "the model's shapes are inconsistent; re-export it")
    # the input's data is never read: it is not among the kernel's inputs
    return Lowered(op=op, kernel="zeros_like", params=ZerosParams(bytes=y.nbytes), inputs=(), outputs=(y.index,))


SPECS = [
    OpSpec(name="fill", builtin="FILL", options=FillOptions, fb_options="FillOptions", lower=lower_fill,
           kernels=(reference_kernel("fill"),),
           doc="int8/int32/float32, constant dims, the value a constant or computed at run time"),
    OpSpec(name="zeros_like", builtin="ZEROS_LIKE", options=ZerosLikeOptions, fb_options="ZerosLikeOptions",
           lower=lower_zeros_like, kernels=(reference_kernel("zeros_like"),),
           quant=QuantRule(1, zero_point_0=True),  # TFLM writes raw 0 bytes: the value 0 only at zero point 0
           doc="int8/int32/int64/float32: zero bytes (raw 0, whatever the zero point, as TFLM)"),
]
