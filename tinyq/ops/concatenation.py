"""CONCATENATION: any axis (negative too), 2 to 10 inputs, constant inputs from flash.

A copy, so every element type TFLM accepts is supported; TFLM's int8 kernel does
not rescale, so int8 inputs must carry the output's scale and zero point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import DTYPES, Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.operands import operand_sources

MAX_INPUTS = 10  # TFLM's kMaxInputNum
MAX_RANK = 6  # TFLM's RuntimeShape::kMaxSmallSize
DTYPES_SUPPORTED = ("float32", "int8", "int16", "int32", "int64", "bool")


@dataclass(frozen=True)
class ConcatenationOptions:
    axis: int = 0
    fused_activation_function: str = "NONE"


@dataclass(frozen=True)
class ConcatenationParams:
    outer: int
    sources: tuple[int, ...]


def _check_quant(graph: Graph, op: Operator, t: Tensor, y: Tensor) -> None:
    if t.dtype == "int8":
        if t.quant is None or y.quant is None:
            raise unsupported(graph, op, f"int8 tensor {t.index} ({t.name}) has no quantization parameters",
                              "quantize the model to int8 first")
        if (qmath.f32(t.quant.s), t.quant.zp) != (qmath.f32(y.quant.s), y.quant.zp):
            raise unsupported(graph, op, f"input {t.index} ({t.name}) is quantized differently from the output",
                              "TFLM's int8 CONCATENATION does not rescale: requantize the input first")
    if t.dtype == "int16" and t.quant is not None and t.quant.zp != 0:
        raise unsupported(graph, op, f"int16 tensor {t.index} ({t.name}) has a non-zero zero point",
                          "int16 tensors are symmetric in TFLM")


def lower(graph: Graph, op: Operator) -> Lowered:
    ins, (y,) = io(graph, op, 1)
    opts: ConcatenationOptions = op.options
    if opts.fused_activation_function != "NONE":
        raise unsupported(graph, op, f"fused activation {opts.fused_activation_function}",
                          "TFLM's CONCATENATION takes none")
    if any(t is None for t in ins) or len(ins) > MAX_INPUTS:
        raise unsupported(graph, op, f"{len(ins)} inputs; TFLM concatenates 1 to {MAX_INPUTS} tensors",
                          "split it into CONCATENATIONs of at most 10 (tinyq quantize splits a float model's)")
    if y.dtype not in DTYPES_SUPPORTED:
        raise unsupported(graph, op, f"{y.dtype} tensors are not supported",
                          "supported: " + ", ".join(DTYPES_SUPPORTED))
    rank = len(y.shape)
    if rank > MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} is above TFLM's limit of {MAX_RANK}", "reshape to fewer dimensions")
    axis = opts.axis + rank if opts.axis < 0 else opts.axis
    if not 0 <= axis < rank:
        raise unsupported(graph, op, f"axis {opts.axis} is out of range for rank {rank}",
                          "the model's shapes are inconsistent; re-export it")
    for t in ins:
        if t.dtype != y.dtype:
            raise unsupported(graph, op, f"input {t.index} ({t.name}) is {t.dtype}, the output {y.dtype}",
                              "CONCATENATION does not convert types")
        _check_quant(graph, op, t, y)
        if len(t.shape) != rank or any(a != b for d, (a, b) in enumerate(zip(t.shape, y.shape)) if d != axis):
            raise unsupported(graph, op, f"input shape {list(t.shape)} does not fit output {list(y.shape)} "
                                         f"on axis {axis}")
    if sum(t.shape[axis] for t in ins) != y.shape[axis]:
        raise unsupported(graph, op, f"inputs add up to {sum(t.shape[axis] for t in ins)} along axis {axis}, "
                                     f"the output has {y.shape[axis]}")
    _check_quant(graph, op, y, y)
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    inner = int(np.prod(y.shape[axis + 1:], dtype=np.int64))
    item = DTYPES[y.dtype][1]
    copy_bytes = np.array([t.shape[axis] * inner * item for t in ins], dtype=np.int32)
    sources, inputs, consts = operand_sources(ins)
    return Lowered(op=op, kernel="concatenation", params=ConcatenationParams(outer=outer, sources=sources),
                   inputs=inputs, outputs=(y.index,),
                   consts=(*consts, ConstArray("copy_bytes", "int32_t", copy_bytes)))


SPECS = [OpSpec(name="concatenation", builtin="CONCATENATION", options=ConcatenationOptions,
                fb_options="ConcatenationOptions", lower=lower,
                kernels=(reference_kernel("concatenation"),),
                quant=QuantRule(2, inputs_as_output=True),
                doc=f"any axis, up to {MAX_INPUTS} inputs (constants too; `tinyq quantize` splits a float model's "
                    "wider one); int8 inputs must share the output's quantization, as in TFLM")]
