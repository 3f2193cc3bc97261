"""SignalEnergy (TFLM's signal library): the power of each complex bin, real^2 + imag^2, as uint32.

TFLM's kernel (signal/micro/kernels/energy.cc, signal/src/energy.cc) writes only the bins in
[start_index, end_index) and leaves the rest of its output as the arena held it (the micro_speech
preprocessor slices them off and pads with zeros). tinyq writes 0 there, so its output never
depends on what ran before. The sum of two int16 squares overflows int32 only at
(-32768)^2 * 2; TFLM's int32 sum then wraps to the same uint32 (2^31) tinyq computes unsigned.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.signal_common import RE_EXPORT, counts, custom, int32, read_options, require_dtype, require_rank

NAME, BUILTIN = custom("SignalEnergy")


@dataclass(frozen=True)
class EnergyParams:
    start: int
    end: int  # bins [start, end) are computed, the others are 0
    count: int  # output values


def lower(graph: Graph, op: Operator) -> Lowered:
    (x,), (y,) = counts(graph, op, 1, 1)
    o = read_options(graph, op, ("end_index", "start_index"))
    start, end = int32(o["start_index"]), int32(o["end_index"])
    require_rank(graph, op, x, 1, "input")
    require_rank(graph, op, y, 1, "output")
    require_dtype(graph, op, x, "int16", "input")
    require_dtype(graph, op, y, "uint32", "output")
    if start < end and (start < 0 or end > y.numel or end > x.numel // 2):
        raise unsupported(graph, op, f"bins [{start}, {end}) lie outside the input's {x.numel // 2} complex values "
                                     f"or the output's {y.numel} (TFLM would read or write past them)", RE_EXPORT)
    if start >= end:  # TFLM computes no bin
        start = end = 0
    params = EnergyParams(start=start, end=end, count=y.numel)
    return Lowered(op=op, kernel="signal_energy", params=params, inputs=(x.index,), outputs=(y.index,))


SPECS = [OpSpec(
    name=NAME, builtin=BUILTIN, lower=lower, kernels=(reference_kernel("signal_energy"),),
    doc="int16 complex bins to uint32 power over [start_index, end_index) (0 elsewhere, where TFLM leaves its "
        "output as it was)")]
