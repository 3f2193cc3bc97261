"""BROADCAST_TO: the input repeated along its size-1 (and new leading) dimensions, as one
strided copy whose broadcast loops re-read the same bytes (stride 0)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, unsupported
from tinyq.ops.common import io
from tinyq.ops.copy_loops import copy_lowered, const_ints, gather_loops, item_size, require_dtypes, row_major_strides
from tinyq.ops.slice import COPY

MAX_RANK = 5  # broadcast_to.cc's kMaxDims
# TFLM copies TfLiteTypeGetSize bytes per element of any type but string; these are the ones tinyq has
DTYPES = ("float32", "int8", "uint8", "int16", "int32", "int64", "bool")


@dataclass(frozen=True)
class BroadcastToOptions:
    pass


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, s, *_), (y,) = io(graph, op, 2)
    require_dtypes(graph, op, [x, y], DTYPES)
    if s is not None and s.is_const and len(s.shape) != 1:
        raise unsupported(graph, op, f"shape has shape {list(s.shape)}; TFLM requires a 1-D tensor")
    shape = const_ints(graph, op, s, "shape", ("int32", "int64"))
    rank, in_rank = len(y.shape), len(x.shape)
    if not in_rank <= rank <= MAX_RANK or len(shape) != rank:
        raise unsupported(graph, op, f"input rank {in_rank}, shape {shape}, output rank {rank}",
                          f"TFLM broadcasts to at most {MAX_RANK}-D outputs of the shape's rank, from no higher rank")
    if list(y.shape) != shape:
        raise unsupported(graph, op, f"output {list(y.shape)} is not the shape {shape}")
    lead = rank - in_rank
    if any(d != 1 and d != shape[lead + i] for i, d in enumerate(x.shape)):
        raise unsupported(graph, op, f"input {list(x.shape)} does not broadcast to {shape}")
    item = item_size(x)
    strides = [0] * lead + [0 if d == 1 else st for d, st in zip(x.shape, row_major_strides(x.shape, item))]
    return copy_lowered(op, "copy", x, y, gather_loops(y.shape, strides, item))


SPECS = [OpSpec(name="broadcast_to", builtin="BROADCAST_TO", options=BroadcastToOptions,
                fb_options="BroadcastToOptions", lower=lower, kernels=(COPY,),
                quant=QuantRule(3, output_as_input=True, activation_inputs=(0,)),
                doc=f"up to {MAX_RANK}-D, {', '.join(DTYPES)}, constant int32/int64 shape; a view when nothing "
                    "repeats")]
