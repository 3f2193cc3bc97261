"""SPLIT, SPLIT_V and UNPACK: one input cut along an axis into several outputs.

Each output is one strided copy (outer x its part of the axis); when nothing precedes
the axis but size-1 dimensions, every output is a contiguous run of the input and the
planner may make it a view of those bytes. TFLM sizes the parts from the output
tensors (SPLIT from the first output's, SPLIT_V ignores size_splits, UNPACK counts
`num` outputs), so tinyq checks the outputs against the input as those loops need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import Lowered, OpSpec, Placement, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.copy_loops import CopyLoops, const_ints, copy_loops, item_size, require_dtypes
from tinyq.ops.operands import operand_sources

DTYPES = ("float32", "int8", "int16", "int32")  # SplitImpl / UnpackImpl's cases


@dataclass(frozen=True)
class SplitOptions:
    num_splits: int = 0


@dataclass(frozen=True)
class SplitVOptions:
    num_splits: int = 0


@dataclass(frozen=True)
class UnpackOptions:
    num: int = 0
    axis: int = 0


@dataclass(frozen=True)
class SplitParams:
    outputs: tuple[CopyLoops, ...]  # one copy per output
    sources: tuple[int, ...]  # the data operand: arena slot, or -1 for the flash array operand0


def _axis(graph: Graph, op: Operator, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise unsupported(graph, op, f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _const_axis(graph: Graph, op: Operator, t: Tensor | None, rank: int) -> int:
    # TFLM reads the first int32 of the axis tensor: an int64 axis is its low word, the same value
    values = const_ints(graph, op, t, "axis", ("int32", "int64"))
    if len(values) != 1:
        raise unsupported(graph, op, f"axis has {len(values)} values; it must be one")
    return _axis(graph, op, values[0], rank)


def split_lowered(graph: Graph, op: Operator, x: Tensor, outs: list[Tensor], axis: int, parts: list[int]) -> Lowered:
    """Copies of x's `parts` along `axis` (in order) into `outs`."""
    require_dtypes(graph, op, [x, *outs], DTYPES)
    if sum(parts) != x.shape[axis]:
        raise unsupported(graph, op, f"the outputs take {sum(parts)} of axis {axis}'s {x.shape[axis]} entries")
    item = item_size(x)
    outer = math.prod(x.shape[:axis])
    inner = math.prod(x.shape[axis + 1:]) * item
    row = x.shape[axis] * inner
    sources, inputs, consts = operand_sources((x,))
    loops, placements, taken = [], [], 0
    for y, n in zip(outs, parts):
        c = copy_loops([outer, n * inner], [row, 1], [n * inner, 1], 1, src_start=taken * inner)
        loops.append(c)
        if c.one_block and not x.is_const:
            placements.append(Placement(y.index, x.index, c.src_start))
        taken += n
    return Lowered(op=op, kernel="split", params=SplitParams(tuple(loops), sources), inputs=inputs,
                   outputs=tuple(y.index for y in outs), consts=consts, placements=tuple(placements))


def _check_parts(graph: Graph, op: Operator, x: Tensor, outs: list[Tensor], axis: int) -> None:
    for y in outs:
        if len(y.shape) != len(x.shape) or any(a != b for d, (a, b) in enumerate(zip(y.shape, x.shape)) if d != axis):
            raise unsupported(graph, op, f"output {list(y.shape)} does not fit input {list(x.shape)} split on "
                                         f"axis {axis}")


def lower_split(graph: Graph, op: Operator) -> Lowered:
    (a, x, *_), outs = io(graph, op, 2, len(op.outputs))
    axis = _const_axis(graph, op, a, len(x.shape))
    _check_parts(graph, op, x, outs, axis)
    if any(tuple(y.shape) != tuple(outs[0].shape) for y in outs):
        raise unsupported(graph, op, f"outputs {[list(y.shape) for y in outs]} differ",
                          "SPLIT cuts equal parts (TFLM sizes every part as the first output)")
    return split_lowered(graph, op, x, outs, axis, [y.shape[axis] for y in outs])


def lower_split_v(graph: Graph, op: Operator) -> Lowered:
    (x, _, a, *_), outs = io(graph, op, 3, len(op.outputs))
    axis = _const_axis(graph, op, a, len(x.shape))
    _check_parts(graph, op, x, outs, axis)
    return split_lowered(graph, op, x, outs, axis, [y.shape[axis] for y in outs])


def lower_unpack(graph: Graph, op: Operator) -> Lowered:
    (x, *_), outs = io(graph, op, 1, len(op.outputs))
    opts: UnpackOptions = op.options or UnpackOptions()
    rank = len(x.shape)
    axis = _axis(graph, op, opts.axis, rank)
    if opts.num != len(outs) or x.shape[axis] != len(outs):
        raise unsupported(graph, op, f"num {opts.num} and {len(outs)} outputs for axis {axis} of size "
                                     f"{x.shape[axis]}", "TFLM writes num outputs, one per entry of the axis")
    expected = list(x.shape[:axis] + x.shape[axis + 1:])
    for y in outs:
        if list(y.shape) != expected:
            raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} without axis {axis}")
    return split_lowered(graph, op, x, outs, axis, [1] * len(outs))


SPLIT = reference_kernel("split")
_DOC = f"{', '.join(DTYPES)}, any axis (negative too), constant axis; outputs are views when only size-1 " \
       "dimensions precede the axis"

SPECS = [
    OpSpec(name="split", builtin="SPLIT", options=SplitOptions, fb_options="SplitOptions", lower=lower_split,
           kernels=(SPLIT,), quant=QuantRule(2, output_as_input=True, activation_inputs=(1,)),
           doc="equal parts, " + _DOC),
    OpSpec(name="split_v", builtin="SPLIT_V", options=SplitVOptions, fb_options="SplitVOptions",
           lower=lower_split_v, kernels=(SPLIT,), quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
           doc="parts sized by the outputs (as TFLM: size_splits is not read), " + _DOC),
    OpSpec(name="unpack", builtin="UNPACK", options=UnpackOptions, fb_options="UnpackOptions", lower=lower_unpack,
           kernels=(SPLIT,), quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
           doc=_DOC),
]
