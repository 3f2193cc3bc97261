"""MIRROR_PAD (REFLECT and SYMMETRIC): each output element copied from the input position
TFLM's GetInputDimension gives, per dimension, through offset tables computed offline."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.ops.base import ConstArray, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_const
from tinyq.ops.copy_loops import (MAX_LOOPS, TableLoops, copy_lowered, gather_loops, item_size, require_dtypes,
                                  row_major_strides, table_loops)
from tinyq.ops.operands import operand_sources
from tinyq.ops.slice import COPY

DTYPES = ("float32", "int8")  # MirrorPadEval's cases
OFFSET = {"REFLECT": 1, "SYMMETRIC": 0}  # MirrorPadPrepare: the edge is not repeated / repeated


@dataclass(frozen=True)
class MirrorPadOptions:
    mode: str = "REFLECT"


@dataclass(frozen=True)
class MirrorPadParams:
    loops: TableLoops
    sources: tuple[int, ...]


def input_index(p: int, left: int, size: int, offset: int) -> int:
    """mirror_pad.cc's GetInputDimension: the input index output index p reads along a dimension."""
    if p < left:
        original = left + offset - 1
        return original - min(p, original - offset)
    p -= left
    if p >= size:
        p -= size
        original = size - (1 + offset)
        return original - min(p, original)
    return p


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, p, *_), (y,) = io(graph, op, 2)
    mode = (op.options or MirrorPadOptions()).mode
    require_dtypes(graph, op, [x, y], DTYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_LOOPS:
        raise unsupported(graph, op, f"rank {rank} input; tinyq pads 1-D to {MAX_LOOPS}-D tensors")
    require_const(graph, op, p, "paddings")
    if p.dtype not in ("int32", "int64") or list(p.shape) != [rank, 2]:
        raise unsupported(graph, op, f"paddings are {p.dtype}{list(p.shape)}; TFLM reads an int32 or int64 "
                                     f"[{rank}, 2] matrix")
    pads = np.asarray(p.data, dtype=np.int64).reshape(rank, 2)
    if (pads < 0).any():
        raise unsupported(graph, op, f"negative paddings {pads.tolist()}")
    expected = [int(d + lo + hi) for d, (lo, hi) in zip(x.shape, pads)]
    if list(y.shape) != expected:
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} padded by "
                                     f"{pads.tolist()} (expected {expected})")
    offset = OFFSET[mode]
    item = item_size(x)
    strides = row_major_strides(x.shape, item)
    padded = [d for d in range(rank) if pads[d].any()]
    if not padded:
        return copy_lowered(op, "copy", x, y, gather_loops(y.shape, strides, item))
    inner = padded[-1] + 1  # the dimensions after the last padded one are copied as whole blocks
    tables = []
    for d in range(inner):
        index = [input_index(q, int(pads[d, 0]), x.shape[d], offset) for q in range(y.shape[d])]
        if min(index) < 0 or max(index) >= x.shape[d]:  # only a wide left side can (the right one clamps)
            limit = "below" if mode == "REFLECT" else "up to"
            raise unsupported(graph, op, f"{mode} padding {pads[d].tolist()} of dimension {d} (size {x.shape[d]}) "
                                         "reads outside the input", f"the left side must be {limit} the size")
        tables.append(np.asarray(index, dtype=np.int64) * strides[d])
    loops, offsets = table_loops(tables, math.prod(x.shape[inner:]) * item)
    sources, inputs, consts = operand_sources((x,))
    return Lowered(op=op, kernel="mirror_pad", params=MirrorPadParams(loops, sources), inputs=inputs,
                   outputs=(y.index,), consts=consts + (ConstArray("offsets", "int32_t", offsets),))


SPECS = [OpSpec(name="mirror_pad", builtin="MIRROR_PAD", options=MirrorPadOptions, fb_options="MirrorPadOptions",
                lower=lower, kernels=(reference_kernel("mirror_pad"), COPY),
                quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
                doc=f"REFLECT and SYMMETRIC, 1-D to {MAX_LOOPS}-D, {', '.join(DTYPES)}, constant int32/int64 "
                    "paddings; a view when nothing is padded")]
