"""TFLM's signal-library filter bank ops: SignalFilterBank, SignalFilterBankSquareRoot,
SignalFilterBankSpectralSubtraction and SignalFilterBankLog (signal/micro/kernels/filter_bank*.cc,
signal/src/filter_bank*.cc, square_root_*.cc, log.cc).

FILTER_BANK accumulates uint32 energies into num_channels + 1 uint64 channels through int16
weights and "unweights" (a channel's unweighted sum starts the next channel), and outputs channels
1 onwards; its channel tables are constants here (tinyq checks offline that every index stays in
its tensor). SQUARE_ROOT is TFLM's bitwise integer square root of each uint64, shifted right by a
run-time int32 (the FFT's auto-scale bits). SPECTRAL_SUBTRACTION keeps a per-channel noise
estimate from one invoke to the next (tinyq's state, reset to 0 as TFLM's Prepare and Reset do),
subtracts it and floors the result; its second output is a copy of the estimate. LOG is TFLM's
fixed-point log (a 128-segment table, Q16) scaled to int16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.ops.base import ConstArray, Kernel, Lowered, OpSpec, Target, reference_kernel, unsupported
from tinyq.ops.signal_common import (RE_EXPORT, counts, custom, int32, read_options, require_dtype, require_range,
                                     require_rank, state_tensor, uint32)

FILTER_BANK, FILTER_BANK_BUILTIN = custom("SignalFilterBank")
SQUARE_ROOT, SQUARE_ROOT_BUILTIN = custom("SignalFilterBankSquareRoot")
SPECTRAL_SUBTRACTION, SPECTRAL_SUBTRACTION_BUILTIN = custom("SignalFilterBankSpectralSubtraction")
LOG, LOG_BUILTIN = custom("SignalFilterBankLog")
TABLES = ("weights", "unweights", "channel_frequency_starts", "channel_weight_starts", "channel_widths")
SUBTRACTION_KEYS = ("alternate_one_minus_smoothing", "alternate_smoothing", "clamping", "min_signal_remaining",
                    "num_channels", "one_minus_smoothing", "smoothing", "smoothing_bits", "spectral_subtraction_bits")


@dataclass(frozen=True)
class FilterBankParams:
    channels: int  # num_channels: channels 0..num_channels are accumulated
    count: int  # outputs written: channels 1..count


@dataclass(frozen=True)
class SquareRootParams:
    count: int


@dataclass(frozen=True)
class SpectralSubtractionParams:
    channels: int
    smoothing: int
    one_minus_smoothing: int
    alternate_smoothing: int
    alternate_one_minus_smoothing: int
    min_signal_remaining: int
    smoothing_bits: int
    spectral_subtraction_bits: int
    clamping: bool


@dataclass(frozen=True)
class LogParams:
    count: int
    output_scale: int  # uint32, as FilterbankLog takes it
    correction_bits: int


def _vector(graph: Graph, op: Operator, t, dtype: str, role: str) -> None:
    require_rank(graph, op, t, 1, role)
    require_dtype(graph, op, t, dtype, role)


# --- FILTER_BANK ---------------------------------------------------------------------------------

def _check_tables(graph: Graph, op: Operator, channels: int, energies: int, tables: dict[str, np.ndarray]) -> None:
    """Every read of FilterbankAccumulateChannels inside its tensor."""
    for name in TABLES[2:]:
        if len(tables[name]) < channels + 1:
            raise unsupported(graph, op, f"{name} holds {len(tables[name])} values; TFLM reads num_channels + 1 = "
                                         f"{channels + 1}", RE_EXPORT)
    n_weights = min(len(tables["weights"]), len(tables["unweights"]))
    for i in range(channels + 1):
        width = int(tables["channel_widths"][i])
        if width <= 0:
            continue
        freq, weight = int(tables["channel_frequency_starts"][i]), int(tables["channel_weight_starts"][i])
        if freq < 0 or freq + width > energies or weight < 0 or weight + width > n_weights:
            raise unsupported(graph, op, f"channel {i} reads energies [{freq}, {freq + width}) of {energies} and "
                                         f"weights [{weight}, {weight + width}) of {n_weights} (TFLM would read past "
                                         "the tensors)", RE_EXPORT)


def lower_filter_bank(graph: Graph, op: Operator) -> Lowered:
    (x, *table_tensors), (y,) = counts(graph, op, 6, 1, constants=(1, 2, 3, 4, 5))
    channels = int32(read_options(graph, op, ("num_channels",))["num_channels"])
    _vector(graph, op, x, "uint32", "input")
    _vector(graph, op, y, "uint64", "output")
    for t, name in zip(table_tensors, TABLES):
        _vector(graph, op, t, "int16", name)
        if not t.is_const:
            raise unsupported(graph, op, f"{name} is computed at run time; tinyq takes the filter bank's tables as "
                                         "constants (in flash, checked offline)", RE_EXPORT)
    require_range(graph, op, "num_channels", channels, 0, 1 << 20, "TFLM allocates num_channels + 1 channels")
    if y.numel > channels:
        raise unsupported(graph, op, f"output holds {y.numel} channels of num_channels {channels} (TFLM would copy "
                                     "past its work area)", RE_EXPORT)
    tables = {name: np.asarray(t.data, dtype=np.int16).reshape(-1) for t, name in zip(table_tensors, TABLES)}
    _check_tables(graph, op, channels, x.numel, tables)
    consts = tuple(ConstArray(name, "int16_t", tables[name]) for name in TABLES)
    return Lowered(op=op, kernel="signal_filter_bank", params=FilterBankParams(channels=channels, count=y.numel),
                   inputs=(x.index,), outputs=(y.index,), consts=consts)


# --- SQUARE_ROOT ---------------------------------------------------------------------------------

def lower_square_root(graph: Graph, op: Operator) -> Lowered:
    (x, bits), (y,) = counts(graph, op, 2, 1, constants=(1,))
    _vector(graph, op, x, "uint64", "input")
    _vector(graph, op, y, "uint32", "output")
    require_rank(graph, op, bits, 0, "scale bits")
    require_dtype(graph, op, bits, "int32", "scale bits")
    if y.numel < x.numel:
        raise unsupported(graph, op, f"output holds {y.numel} channels, input {x.numel} (TFLM writes one per input)",
                          RE_EXPORT)
    if bits.is_const:
        require_range(graph, op, "scale bits", int(bits.data.reshape(-1)[0]), 0, 31,
                      "a uint32 shifted by 32 or more is undefined")
        return Lowered(op=op, kernel="signal_filter_bank_square_root", params=SquareRootParams(count=x.numel),
                       inputs=(x.index,), outputs=(y.index,),
                       consts=(ConstArray("scale_bits", "int32_t", np.asarray(bits.data, np.int32).reshape(-1)),))
    return Lowered(op=op, kernel="signal_filter_bank_square_root", params=SquareRootParams(count=x.numel),
                   inputs=(x.index, bits.index), outputs=(y.index,))


# --- SPECTRAL_SUBTRACTION ------------------------------------------------------------------------

def _subtraction_params(graph: Graph, op: Operator) -> SpectralSubtractionParams:
    o = read_options(graph, op, SUBTRACTION_KEYS)
    p = SpectralSubtractionParams(
        channels=int32(o["num_channels"]), smoothing=uint32(o["smoothing"]),
        one_minus_smoothing=uint32(o["one_minus_smoothing"]), alternate_smoothing=uint32(o["alternate_smoothing"]),
        alternate_one_minus_smoothing=uint32(o["alternate_one_minus_smoothing"]),
        min_signal_remaining=uint32(o["min_signal_remaining"]), smoothing_bits=uint32(o["smoothing_bits"]),
        spectral_subtraction_bits=uint32(o["spectral_subtraction_bits"]), clamping=o["clamping"] != 0)
    require_range(graph, op, "num_channels", p.channels, 1, 1 << 20, "the channels TFLM's state holds")
    require_range(graph, op, "smoothing_bits", p.smoothing_bits, 0, 31, "a uint32 shifted by 32 or more is undefined")
    require_range(graph, op, "spectral_subtraction_bits", p.spectral_subtraction_bits, 0, 63,
                  "a uint64 shifted by 64 or more is undefined")
    return p


def subtraction_state_bytes(graph: Graph, op: Operator) -> int:
    """The noise estimate TFLM keeps between invokes: one uint32 per channel."""
    return 4 * _subtraction_params(graph, op).channels


def lower_spectral_subtraction(graph: Graph, op: Operator) -> Lowered:
    (x,), (y, noise) = counts(graph, op, 1, 2)
    p = _subtraction_params(graph, op)
    for t, role in ((x, "input"), (y, "output"), (noise, "noise estimate")):
        _vector(graph, op, t, "uint32", role)
        if t.numel != p.channels:
            raise unsupported(graph, op, f"{role} holds {t.numel} channels, num_channels is {p.channels} (TFLM reads "
                                         "and writes num_channels of each)", RE_EXPORT)
    state = state_tensor(graph, op, subtraction_state_bytes(graph, op))
    return Lowered(op=op, kernel="signal_filter_bank_spectral_subtraction", params=p, inputs=(x.index, state.index),
                   outputs=(y.index, noise.index))


# --- LOG -----------------------------------------------------------------------------------------

def lower_log(graph: Graph, op: Operator) -> Lowered:
    (x,), (y,) = counts(graph, op, 1, 1)
    o = read_options(graph, op, ("input_correction_bits", "output_scale"))
    _vector(graph, op, x, "uint32", "input")
    _vector(graph, op, y, "int16", "output")
    if y.numel < x.numel:
        raise unsupported(graph, op, f"output holds {y.numel} channels, input {x.numel} (TFLM writes one per input)",
                          RE_EXPORT)
    bits = uint32(o["input_correction_bits"])
    require_range(graph, op, "input_correction_bits", bits, 0, 31, "a uint32 shifted by 32 or more is undefined")
    params = LogParams(count=x.numel, output_scale=uint32(o["output_scale"]), correction_bits=bits)
    return Lowered(op=op, kernel="signal_filter_bank_log", params=params, inputs=(x.index,), outputs=(y.index,))


def _work_area(k: Lowered, target: Target) -> int:
    """TFLM's work area: num_channels + 1 uint64 accumulators (channel 0 is not output)."""
    return 8 * (k.params.channels + 1)


SPECS = [
    OpSpec(name=FILTER_BANK, builtin=FILTER_BANK_BUILTIN, lower=lower_filter_bank,
           kernels=(Kernel(name="signal_filter_bank", template="reference/signal_filter_bank.c.j2",
                           scratch=_work_area),),
           doc="uint32 energies to uint64 channels through constant int16 weight tables (bounds checked offline)"),
    OpSpec(name=SQUARE_ROOT, builtin=SQUARE_ROOT_BUILTIN, lower=lower_square_root,
           kernels=(reference_kernel("signal_filter_bank_square_root"),),
           doc="uint64 to uint32, TFLM's bitwise square root, shifted by a constant or run-time int32"),
    OpSpec(name=SPECTRAL_SUBTRACTION, builtin=SPECTRAL_SUBTRACTION_BUILTIN, lower=lower_spectral_subtraction,
           kernels=(reference_kernel("signal_filter_bank_spectral_subtraction"),),
           doc="uint32 channels, the noise estimate kept across invokes (reset as TFLM's), clamping, alternate "
               "smoothing on odd channels"),
    OpSpec(name=LOG, builtin=LOG_BUILTIN, lower=lower_log, kernels=(reference_kernel("signal_filter_bank_log"),),
           doc="uint32 to int16, TFLM's fixed-point log table, correction bits and output scale"),
]
