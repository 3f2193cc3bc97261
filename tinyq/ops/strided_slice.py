"""STRIDED_SLICE exactly as TFLM runs it: one strided copy (a view when contiguous).

TFLM's kernel (strided_slice_common.cc) builds its parameters with `ellipsis_mask`,
`new_axis_mask` and `offset` left at 0: it ignores them, and so does tinyq, with the
same shape check in Prepare deciding whether the model runs at all. begin/end/strides
are read as int32, one per input dimension. Where TFLM's Eval would write nothing for
a shrunk axis (a negative stride there, or an index past the end) its output is
whatever the arena held: tinyq refuses those.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, unsupported
from tinyq.ops.common import io
from tinyq.ops.copy_loops import copy_lowered, const_ints, gather_loops, item_size, require_dtypes, row_major_strides
from tinyq.ops.slice import COPY

MAX_RANK = 4  # strided_slice_common.cc's kMaxDim
DTYPES = ("float32", "int8", "int16", "int32", "bool")  # StridedSliceEval's cases


@dataclass(frozen=True)
class StridedSliceOptions:
    begin_mask: int = 0
    end_mask: int = 0
    ellipsis_mask: int = 0
    new_axis_mask: int = 0
    shrink_axis_mask: int = 0
    offset: bool = False


def _clamp(v: int, lo: int, hi: int) -> int:
    return min(max(v, lo), hi)


def axis_range(size: int, begin: int, end: int, stride: int, begin_masked: bool, end_masked: bool,
               shrink: bool) -> tuple[int, int]:
    """(start, iterations) along one axis: strided_slice_logic.h's StridedSliceStartForAxis /
    StridedSliceEndForAxis (what Eval runs) and its loop `i < stop` (`i > stop` backwards)."""
    lo, hi = (0, size) if stride > 0 else (-1, size - 1)
    start = _clamp(begin + size if begin < 0 else begin, lo, hi)
    if begin_masked:
        start = 0 if stride > 0 else size - 1
    if shrink:
        stop = start if start >= size else start + 1
    else:
        stop = _clamp(end + size if end < 0 else end, lo, hi)
        if end_masked:
            stop = size if stride > 0 else -1
    span = stop - start if stride > 0 else start - stop
    return start, max(0, -(-span // abs(stride)))


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, b, e, s, *_), (y,) = io(graph, op, 4)
    opts: StridedSliceOptions = op.options or StridedSliceOptions()
    require_dtypes(graph, op, [x, y], DTYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} input; TFLM slices 1-D to {MAX_RANK}-D tensors")
    begin, end, strides = (const_ints(graph, op, t, role) for t, role in ((b, "begin"), (e, "end"), (s, "strides")))
    if not len(begin) == len(end) == len(strides) == rank:
        raise unsupported(graph, op, f"begin, end and strides have {len(begin)}, {len(end)} and {len(strides)} "
                                     f"values for a rank-{rank} input", "TFLM reads one of each per input dimension")
    if 0 in strides:
        raise unsupported(graph, op, "a stride is 0", "TFLM requires non-zero strides")
    bit = lambda mask, axis: bool((mask >> axis) & 1)  # noqa: E731
    starts, counts, kept = [], [], []
    for axis in range(rank):
        shrink = bit(opts.shrink_axis_mask, axis)
        start, count = axis_range(x.shape[axis], begin[axis], end[axis], strides[axis],
                                  bit(opts.begin_mask, axis), bit(opts.end_mask, axis), shrink)
        if shrink and count != 1:
            why = "a negative stride" if strides[axis] < 0 else f"index {begin[axis]} outside size {x.shape[axis]}"
            raise unsupported(graph, op, f"shrunk axis {axis} with {why}: TFLM's kernel writes nothing there")
        starts.append(start)
        counts.append(count)
        if not shrink:
            kept.append(count)
    if list(y.shape) != kept:
        raise unsupported(graph, op, f"output {list(y.shape)} is not the slice TFLM computes {kept}",
                          "TFLM ignores ellipsis_mask, new_axis_mask and offset" if
                          (opts.ellipsis_mask or opts.new_axis_mask or opts.offset) else
                          "the model's shapes are inconsistent; re-export it")
    item = item_size(x)
    in_strides = row_major_strides(x.shape, item)
    loops = gather_loops(counts, [st * ist for st, ist in zip(strides, in_strides)], item,
                         src_start=sum(a * ist for a, ist in zip(starts, in_strides)))
    return copy_lowered(op, "copy", x, y, loops)


SPECS = [OpSpec(name="strided_slice", builtin="STRIDED_SLICE", options=StridedSliceOptions,
                fb_options="StridedSliceOptions", lower=lower, kernels=(COPY,),
                quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
                doc=f"1-D to {MAX_RANK}-D, {', '.join(DTYPES)}, constant int32 begin/end/strides, negative strides, "
                    "begin/end/shrink masks; ellipsis/new-axis masks and offset ignored as TFLM does; a view "
                    "when contiguous")]
