"""SignalPCAN (TFLM's signal library): per-channel automatic gain control of uint32 filter bank
channels by their noise estimate.

TFLM's kernel (signal/micro/kernels/pcan.cc, signal/src/pcan_argc_fixed.cc) looks each channel's
gain up in an int16 table interpolated by the estimate's magnitude (WideDynamicFunction), applies
it with snr_shift and compresses the result (PcanShrink). The table is read up to entry 124 (an
estimate of 2^31 or more), so tinyq requires 125 entries. The kernel reads both inputs of a
channel before writing it, so the output may take either input's place.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.operands import operand_sources
from tinyq.ops.signal_common import (RE_EXPORT, counts, custom, int32, read_options, require_dtype, require_range,
                                     require_rank)

NAME, BUILTIN = custom("SignalPCAN")
LUT_ENTRIES = 125  # WideDynamicFunction reads lut[4 * 32 - 6 + 2] at most


@dataclass(frozen=True)
class PcanParams:
    sources: tuple[int, ...]  # the gain table: slot in Lowered.inputs, or -1 for flash operand2
    count: int
    snr_shift: int


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, noise, lut), (y,) = counts(graph, op, 3, 1, constants=(2,))
    snr_shift = int32(read_options(graph, op, ("snr_shift",))["snr_shift"])
    for t, dtype, role in ((x, "uint32", "input"), (noise, "uint32", "noise estimate"), (lut, "int16", "gain table"),
                           (y, "uint32", "output")):
        require_rank(graph, op, t, 1, role)
        require_dtype(graph, op, t, dtype, role)
    if y.numel != x.numel or noise.numel < x.numel:
        raise unsupported(graph, op, f"input {x.numel}, noise estimate {noise.numel} and output {y.numel} channels: "
                                     "TFLM copies the output's bytes from the input and reads one estimate per "
                                     "input channel", RE_EXPORT)
    if lut.numel < LUT_ENTRIES:
        raise unsupported(graph, op, f"the gain table holds {lut.numel} entries; TFLM reads up to {LUT_ENTRIES}",
                          RE_EXPORT)
    require_range(graph, op, "snr_shift", snr_shift, 0, 63, "a uint64 shifted by 64 or more is undefined")
    (_, _, lut_source), inputs, consts = operand_sources((x, noise, lut))
    params = PcanParams(sources=(0, 1, lut_source), count=x.numel, snr_shift=snr_shift)
    return Lowered(op=op, kernel="signal_pcan", params=params, inputs=inputs, outputs=(y.index,), consts=consts)


SPECS = [OpSpec(
    name=NAME, builtin=BUILTIN, lower=lower, kernels=(reference_kernel("signal_pcan", inplace=ELEMENTWISE),),
    doc="uint32 channels and noise estimates, an int16 gain table of 125 or more entries (constant or computed), "
        "snr_shift 0-63")]
