"""SignalWindow (TFLM's signal library): multiply int16 samples by an int16 window, shift right,
saturate to int16.

TFLM's kernel (signal/micro/kernels/window.cc, signal/src/window.cc) applies the window to each
run of `weights` samples of the flattened input: (int32 input * weight) >> shift (an arithmetic
shift), clamped to int16. The window may be a constant (in flash) or computed by the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.operands import operand_sources
from tinyq.ops.signal_common import (RE_EXPORT, counts, custom, int32, read_options, require_dtype, require_range,
                                     require_rank)

NAME, BUILTIN = custom("SignalWindow")


@dataclass(frozen=True)
class WindowParams:
    sources: tuple[int, ...]  # input, weights: slot in Lowered.inputs, or -1 for flash operand<i>
    count: int  # samples in the input
    window: int  # samples in the window
    shift: int


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, w), (y,) = counts(graph, op, 2, 1, constants=(1,))
    shift = int32(read_options(graph, op, ("shift",))["shift"])
    for t, role in ((x, "input"), (w, "weights"), (y, "output")):
        require_dtype(graph, op, t, "int16", role)
    require_rank(graph, op, w, 1, "weights")
    if len(x.shape) < 1 or len(x.shape) != len(y.shape):
        raise unsupported(graph, op, f"input rank {len(x.shape)} and output rank {len(y.shape)} differ (TFLM's "
                                     "Prepare requires them equal)", RE_EXPORT)
    if x.numel % w.numel or y.numel != x.numel:
        raise unsupported(graph, op, f"the input's {x.numel} samples are not whole windows of {w.numel} for an "
                                     f"output of {y.numel} (TFLM would read and write past the tensors)", RE_EXPORT)
    require_range(graph, op, "shift", shift, 0, 31, "an int32 shifted by 32 or more is undefined")
    sources, inputs, consts = operand_sources((x, w))
    return Lowered(op=op, kernel="signal_window", inputs=inputs, outputs=(y.index,), consts=consts,
                   params=WindowParams(sources=sources, count=x.numel, window=w.numel, shift=shift))


SPECS = [OpSpec(
    name=NAME, builtin=BUILTIN, lower=lower,
    kernels=(reference_kernel("signal_window", inplace=ELEMENTWISE),),
    doc="int16 samples and window (constant or computed), any rank, shift 0-31, TFLM's saturation to int16")]
