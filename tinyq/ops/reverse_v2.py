"""REVERSE_V2: the input with some axes reversed, as one strided copy (backwards strides)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, unsupported
from tinyq.ops.common import io
from tinyq.ops.copy_loops import copy_lowered, const_ints, gather_loops, item_size, require_dtypes, row_major_strides
from tinyq.ops.slice import COPY

MAX_RANK = 6  # RuntimeShape::kMaxSmallSize, ReverseV2Prepare's limit
DTYPES = ("int32", "float32", "uint8", "int8", "int16", "int64", "bool")  # ReverseV2Prepare's types


@dataclass(frozen=True)
class ReverseV2Options:
    pass


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, a, *_), (y,) = io(graph, op, 2)
    require_dtypes(graph, op, [x, y], DTYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} input; TFLM reverses 1-D to {MAX_RANK}-D tensors")
    if a is not None and a.is_const and len(a.shape) != 1:
        raise unsupported(graph, op, f"axis has shape {list(a.shape)}; TFLM requires a 1-D tensor")
    axes = const_ints(graph, op, a, "axis")
    if not 1 <= len(axes) <= rank:
        raise unsupported(graph, op, f"{len(axes)} axes for a rank-{rank} input; TFLM reverses 1 to {rank}")
    if any(not -rank <= v < rank for v in axes):
        raise unsupported(graph, op, f"axes {axes} are out of range for rank {rank}")
    axes = sorted(v % rank for v in axes)
    if axes != list(range(axes[0], axes[0] + len(axes))):
        raise unsupported(graph, op, f"axes {axes} are not consecutive dimensions",
                          "TFLM's kernel reverses one run of adjacent axes (\"Non-contiguous `axes` not supported\")")
    if tuple(y.shape) != tuple(x.shape):
        raise unsupported(graph, op, f"output {list(y.shape)} differs from input {list(x.shape)}")
    item = item_size(x)
    strides = row_major_strides(x.shape, item)
    src = [-st if d in axes else st for d, st in enumerate(strides)]
    start = sum((x.shape[d] - 1) * strides[d] for d in axes)
    return copy_lowered(op, "copy", x, y, gather_loops(x.shape, src, item, src_start=start))


SPECS = [OpSpec(name="reverse_v2", builtin="REVERSE_V2", options=ReverseV2Options, fb_options="ReverseV2Options",
                lower=lower, kernels=(COPY,), quant=QuantRule(3, output_as_input=True, activation_inputs=(0,)),
                doc=f"1-D to {MAX_RANK}-D, {', '.join(DTYPES)}, constant int32 axes that are adjacent (as TFLM)")]
