"""PACK: N same-shaped inputs stacked along a new axis of the output.

Each input is one strided copy into its slot (outer x inner); when nothing precedes the
new axis but size-1 dimensions, each slot is a contiguous run of the output and the
planner may let the input's producer write it there directly (a placement), leaving
the copy nothing to move. TFLM copies bytes without rescaling, so int8 inputs keep
whatever quantization they have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, Placement, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.copy_loops import CopyLoops, copy_loops, item_size, require_dtypes
from tinyq.ops.operands import operand_sources

DTYPES = ("float32", "int8", "int16", "int32", "int64")  # PackImpl's cases


@dataclass(frozen=True)
class PackOptions:
    values_count: int = 0
    axis: int = 0


@dataclass(frozen=True)
class PackParams:
    inputs: tuple[CopyLoops, ...]  # one copy per input
    sources: tuple[int, ...]  # per input: arena slot, or -1 for the flash array operand<i>


def lower(graph: Graph, op: Operator) -> Lowered:
    ins, (y,) = io(graph, op, len(op.inputs))
    opts: PackOptions = op.options or PackOptions()
    if not ins or opts.values_count != len(ins):
        raise unsupported(graph, op, f"values_count {opts.values_count} for {len(ins)} inputs",
                          "TFLM copies values_count inputs")
    require_dtypes(graph, op, [*ins, y], DTYPES)
    rank = len(y.shape)
    if not -rank <= opts.axis < rank:
        raise unsupported(graph, op, f"axis {opts.axis} is out of range for the rank-{rank} output")
    axis = opts.axis % rank
    expected = list(y.shape[:axis] + y.shape[axis + 1:])
    if y.shape[axis] != len(ins):
        raise unsupported(graph, op, f"output {list(y.shape)} has {y.shape[axis]} entries on axis {axis} for "
                                     f"{len(ins)} inputs")
    for t in ins:
        if list(t.shape) != expected:
            raise unsupported(graph, op, f"input {list(t.shape)} is not output {list(y.shape)} without axis {axis}")
    outer = math.prod(y.shape[:axis])
    inner = math.prod(y.shape[axis + 1:]) * item_size(y)
    sources, inputs, consts = operand_sources(ins)
    loops, placements = [], []
    for i, t in enumerate(ins):
        c = copy_loops([outer, inner], [inner, 1], [len(ins) * inner, 1], 1, dst_start=i * inner)
        loops.append(c)
        if c.one_block and not t.is_const:
            placements.append(Placement(t.index, y.index, c.dst_start))
    return Lowered(op=op, kernel="pack", params=PackParams(tuple(loops), sources), inputs=inputs,
                   outputs=(y.index,), consts=consts, placements=tuple(placements))


SPECS = [OpSpec(name="pack", builtin="PACK", options=PackOptions, fb_options="PackOptions", lower=lower,
                kernels=(reference_kernel("pack"),), quant=QuantRule(2, inputs_as_output=True),
                doc=f"{', '.join(DTYPES)}, any axis (negative too), constant inputs; inputs written in place "
                    "into the output when only size-1 dimensions precede the axis")]
