"""SLICE: a box of the input, as one strided copy (or a view when the box is contiguous)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.copy_loops import copy_lowered, const_ints, gather_loops, item_size, require_dtypes, row_major_strides

MAX_RANK = 5  # slice.cc's kMaxDim
DTYPES = ("float32", "int32", "int8", "int16", "bool")  # SliceEval's cases

COPY = reference_kernel("copy")  # shared with STRIDED_SLICE, REVERSE_V2 and BROADCAST_TO


@dataclass(frozen=True)
class SliceOptions:
    pass


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, b, s, *_), (y,) = io(graph, op, 3)
    require_dtypes(graph, op, [x, y], DTYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} input; TFLM slices 1-D to {MAX_RANK}-D tensors")
    if b is not None and s is not None and b.dtype != s.dtype:
        raise unsupported(graph, op, f"begin is {b.dtype}, size {s.dtype}; TFLM requires one type")
    if b is not None and s is not None and (b.numel != rank or s.numel != rank):
        # before the constness: run-time ones of the wrong count (ai-edge-quantizer's single_slice.tflite)
        # are read past their end by TFLM, which checks neither
        raise unsupported(graph, op, f"begin has {b.numel} and size {s.numel} values for a rank-{rank} input",
                          "TFLM reads one of each per input dimension")
    begin = const_ints(graph, op, b, "begin", ("int32", "int64"))
    size = const_ints(graph, op, s, "size", ("int32", "int64"))
    sizes = []
    for d, (lo, n, dim) in enumerate(zip(begin, size, x.shape)):
        n = dim - lo if n == -1 else n
        if lo < 0 or n < 0 or lo + n > dim:
            raise unsupported(graph, op, f"begin {lo} and size {size[d]} leave dimension {d} (size {dim})",
                              "TFLM does not clamp SLICE's begin and size")
        sizes.append(n)
    if list(y.shape) != sizes:
        raise unsupported(graph, op, f"output {list(y.shape)} is not the slice's shape {sizes}")
    item = item_size(x)
    strides = row_major_strides(x.shape, item)
    start = sum(lo * st for lo, st in zip(begin, strides))
    return copy_lowered(op, "copy", x, y, gather_loops(sizes, strides, item, src_start=start))


SPECS = [OpSpec(name="slice", builtin="SLICE", options=SliceOptions, fb_options="SliceOptions", lower=lower,
                kernels=(COPY,), quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
                doc=f"1-D to {MAX_RANK}-D, {', '.join(DTYPES)}, constant int32/int64 begin and size (-1: to the end); "
                    "a view when the box is contiguous")]
