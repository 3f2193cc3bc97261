"""DYNAMIC_UPDATE_SLICE: int8/int16/int32/float32 up to 6-D, int32 or int64 start indices,
constant (clamped offline) or computed at run time (clamped by the kernel, as TFLM does).

The output is the operand with the update written over the block at the start
indices, each clamped into [0, operand_dim - update_dim]. When the operand dies at this
op the output may take its storage (a key-value cache updated in place): the kernel
copies the operand only when the two are different buffers, as TFLM's does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import DTYPES, Graph, Operator
from tinyq.ops.base import ConstArray, InPlace, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.operands import operand_sources

DTYPES_SUPPORTED = ("int8", "int16", "int32", "float32")  # TFLM's Eval dispatch
MAX_RANK = 6  # TFLM's kMaxDimensions (RuntimeShape::kMaxSmallSize)


@dataclass(frozen=True)
class DynamicUpdateSliceOptions:
    pass


@dataclass(frozen=True)
class DynamicUpdateSliceParams:
    rank: int
    dims: tuple[int, ...]  # the operand's, padded to MAX_RANK with 1s
    update_dims: tuple[int, ...]
    item: int
    whole: bool  # the update covers the operand: the output is the update
    index_bits: int  # 0: constant starts (already clamped, flash array "starts"); 32 or 64: read at run time
    sources: tuple[int, ...]  # (operand, update, start indices) as arena slots, -1 for a flash array


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, update, starts, *_), (y,) = io(graph, op, 3)
    if x.dtype not in DTYPES_SUPPORTED or update.dtype != x.dtype or y.dtype != x.dtype:
        raise unsupported(graph, op, f"operand {x.dtype}, update {update.dtype}, output {y.dtype}: TFLM takes one "
                                     f"of {'/'.join(DTYPES_SUPPORTED)} for all three",
                          "quantize the model to int8 (tinyq quantize) or convert the tensors")
    rank = len(x.shape)
    if rank > MAX_RANK or rank < 1:
        raise unsupported(graph, op, f"rank {rank}: TFLM handles 1 to {MAX_RANK} dimensions",
                          "reshape to fewer dimensions")
    if starts.dtype not in ("int32", "int64") or list(starts.shape) != [rank]:
        raise unsupported(graph, op, f"start indices are {starts.dtype}{list(starts.shape)}; TFLM takes {rank} "
                                     "int32 or int64 values", "as TFLite writes them")
    if len(update.shape) != rank or any(u > d for u, d in zip(update.shape, x.shape)):
        raise unsupported(graph, op, f"update {list(update.shape)} does not fit in operand {list(x.shape)}",
                          "the model's shapes are inconsistent; re-export it")
    if tuple(y.shape) != tuple(x.shape):
        raise unsupported(graph, op, f"output {list(y.shape)} is not the operand's shape {list(x.shape)}",
                          "the model's shapes are inconsistent; re-export it")
    if update.numel == 0:
        raise unsupported(graph, op, "an empty update", "the op is a copy of the operand: remove it")
    pad = (1,) * (MAX_RANK - rank)
    tensors, consts, index_bits = (x, update), (), 0
    if starts.is_const:
        # TFLM's CalculateClampedStartIndices, done once here
        values = np.asarray(starts.data, dtype=np.int64).reshape(-1)
        room = np.asarray(x.shape, dtype=np.int64) - np.asarray(update.shape, dtype=np.int64)
        clamped = np.minimum(np.maximum(values, 0), room)
        consts = (ConstArray("starts", "int32_t", clamped.astype(np.int32)),)
    else:
        tensors, index_bits = (x, update, starts), 32 if starts.dtype == "int32" else 64
    sources, inputs, operand_consts = operand_sources(tensors)
    params = DynamicUpdateSliceParams(rank=rank, dims=tuple(x.shape) + pad, update_dims=tuple(update.shape) + pad,
                                      item=DTYPES[x.dtype][1], whole=update.numel == x.numel,
                                      index_bits=index_bits, sources=sources)
    return Lowered(op=op, kernel="dynamic_update_slice", params=params, inputs=inputs, outputs=(y.index,),
                   consts=operand_consts + consts)


def _over_operand(k: Lowered, graph: Graph, i: int) -> int | None:
    """The output may start exactly at the operand (shift 0); never over the update or the indices."""
    return 0 if k.params.sources[0] == i else None


IN_PLACE = InPlace(_over_operand, "copies the operand to the output only when they are different buffers, "
                                  "then writes the update block; nothing else is read from the operand")

SPECS = [
    OpSpec(name="dynamic_update_slice", builtin="DYNAMIC_UPDATE_SLICE", options=DynamicUpdateSliceOptions,
           fb_options="DynamicUpdateSliceOptions", lower=lower,
           kernels=(reference_kernel("dynamic_update_slice", inplace=IN_PLACE),),
           doc=f"int8/int16/int32/float32 up to {MAX_RANK}-D, int32/int64 start indices (constant: clamped "
               "offline; run time: clamped as TFLM); the output may take the operand's storage"),
]
