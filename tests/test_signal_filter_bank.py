"""TFLM's signal-library SignalEnergy, SignalFilterBank, SignalFilterBankSquareRoot,
SignalFilterBankSpectralSubtraction, SignalFilterBankLog and SignalPCAN against TFLM: random and
extreme uint32/uint64 values, negative weights (their uint64 wrap), the square root's run-time shift
(x86's 5-bit mask beyond 31, as the golden interpreter), the noise estimate carried over a sequence
(clamping or not), the log's correction bits and output scale, PCAN's gain table over every
octave; the refusals; one merged graph on qemu-m55 and ARMv6-M."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_file
from signal_cases import assert_same, assert_same_on_targets, int16_audio, options
from tinyq import driver
from tinyq.lower import support_report
from tinyq.tflite.builder import GraphBuilder

MICRO_SPEECH = ("models", "tflm-corpus", "examples_micro_speech_models_audio_preprocessor_int8.tflite")
SUBTRACTION = dict(alternate_one_minus_smoothing=15401, alternate_smoothing=983, clamping=False,
                   min_signal_remaining=819, num_channels=40, one_minus_smoothing=15975, smoothing=409,
                   smoothing_bits=10, spectral_subtraction_bits=14)  # micro_speech's


def u32(rng, n: int) -> np.ndarray:
    """Any magnitude: uniform uint32 shifted right by 0..31 bits, and the extremes."""
    values = rng.integers(0, 2**32, n, dtype=np.uint64) >> rng.integers(0, 32, n).astype(np.uint64)
    values[:3] = (0, 1, 2**32 - 1)
    return values.astype(np.uint32)


def u64(rng, n: int) -> np.ndarray:
    values = rng.integers(0, 2**63, n, dtype=np.uint64) >> rng.integers(0, 63, n).astype(np.uint64)
    values = values * np.uint64(2) + rng.integers(0, 2, n).astype(np.uint64)
    values[:6] = (0, 1, 2**32 - 1, 2**32, 2**64 - 1, 0xFFFFFFFE00000001)
    return values


def filter_tables(rng, channels: int, energies: int) -> list[np.ndarray]:
    """Weights, unweights, frequency starts, weight starts and widths of num_channels + 1 channels, every
    index inside the tensors (some widths 0), weights of both signs."""
    widths = rng.integers(0, min(9, energies + 1), channels + 1)
    freq = np.array([rng.integers(0, energies - w + 1) for w in widths])
    weight_starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    total = int(widths.sum()) + 1
    weights = rng.integers(-32768, 32768, total)
    unweights = rng.integers(0, 4096, total)
    return [np.asarray(a, np.int16) for a in (weights, unweights, freq, weight_starts, widths)]


def filter_bank_graph(tables, channels: int, energies: int, outputs: int | None = None):
    b = GraphBuilder("filter_bank")
    x = b.input((energies,), "uint32")
    y = b.activation((outputs or channels,), "uint64")
    b.op("custom:SignalFilterBank", [x] + [b.const(t, "int16") for t in tables], [y],
         options=options(num_channels=channels))
    return b.build([y])


def test_filter_bank():
    rng = np.random.default_rng(1)
    for channels, energies, outputs in ((40, 257, None), (7, 20, 5), (1, 3, None)):
        graph = filter_bank_graph(filter_tables(rng, channels, energies), channels, energies, outputs)
        assert_same(graph, [[u32(rng, energies)] for _ in range(6)])


def test_filter_bank_with_micro_speech_tables():
    _, model = driver.read(shared_file(*MICRO_SPEECH))
    op = next(o for o in model.operators if o.op == "custom:SignalFilterBank")
    tables = [model.tensors[i].data for i in op.inputs[1:]]
    rng = np.random.default_rng(2)
    assert_same(filter_bank_graph(tables, 40, 257), [[u32(rng, 257)] for _ in range(6)])


def test_square_root():
    b = GraphBuilder("sqrt")
    x, bits = b.input((40,), "uint64"), b.input((), "int32")
    y = b.activation((40,), "uint32")
    b.op("custom:SignalFilterBankSquareRoot", [x, bits], [y], options=options())
    rng = np.random.default_rng(3)
    shifts = (0, 1, 7, 16, 31, 32, 33, -1)  # beyond 31: the golden x86 build shifts by the low 5 bits
    assert_same(b.build([y]), [[u64(rng, 40), np.array(k, np.int32)] for k in shifts])


def test_square_root_by_a_constant():
    b = GraphBuilder("sqrt_const")
    x = b.input((9,), "uint64")
    y = b.activation((9,), "uint32")
    b.op("custom:SignalFilterBankSquareRoot", [x, b.const(np.array(3, np.int32))], [y], options=options())
    rng = np.random.default_rng(4)
    assert_same(b.build([y]), [[u64(rng, 9)] for _ in range(4)])


def subtraction_graph(tensor_channels: int | None = None, **overrides):
    o = {**SUBTRACTION, **overrides}
    b = GraphBuilder("spectral_subtraction")
    n = tensor_channels or o["num_channels"]
    x = b.input((n,), "uint32")
    y, noise = b.activation((n,), "uint32"), b.activation((n,), "uint32")
    b.op("custom:SignalFilterBankSpectralSubtraction", [x], [y, noise], options=options(**o))
    return b.build([y, noise])


@pytest.mark.parametrize("overrides", [{}, {"clamping": True}, {"num_channels": 5, "smoothing_bits": 0},
                                       {"spectral_subtraction_bits": 0, "min_signal_remaining": 2**31 - 1},
                                       {"smoothing_bits": 31, "spectral_subtraction_bits": 63}])
def test_spectral_subtraction_carries_its_noise_estimate(overrides):
    """A 30-invoke sequence: loud, then quiet channels (the estimate above the signal: clamping)."""
    graph = subtraction_graph(**overrides)
    n = graph.tensors[graph.inputs[0]].shape[0]
    rng = np.random.default_rng(5)
    loud = [[rng.integers(2**18, 2**22, n).astype(np.uint32)] for _ in range(12)]
    quiet = [[rng.integers(0, 2**10, n).astype(np.uint32)] for _ in range(12)]
    assert_same(graph, loud + quiet + [[u32(rng, n)] for _ in range(6)])


@pytest.mark.parametrize("correction_bits, scale", [(3, 64), (0, 1), (12, 1000), (31, -2**31 + 5)])
def test_log(correction_bits, scale):
    b = GraphBuilder("log")
    x = b.input((40,), "uint32")
    y = b.activation((40,), "int16")
    b.op("custom:SignalFilterBankLog", [x], [y], options=options(input_correction_bits=correction_bits,
                                                                 output_scale=scale))
    rng = np.random.default_rng(6)
    assert_same(b.build([y]), [[u32(rng, 40)] for _ in range(8)] + [[np.arange(40, dtype=np.uint32)]])


def pcan_graph(lut, shift: int, n: int = 40, constant: bool = True):
    b = GraphBuilder("pcan")
    x, noise = b.input((n,), "uint32"), b.input((n,), "uint32")
    table = b.const(lut, "int16") if constant else b.input((len(lut),), "int16")
    y = b.activation((n,), "uint32")
    b.op("custom:SignalPCAN", [x, noise, table], [y], options=options(snr_shift=shift))
    return b.build([y])


@pytest.mark.parametrize("shift", [0, 6, 20, 63])
def test_pcan(shift):
    """Random gain tables of both signs (TFLM's int32 products wrap for extreme ones)."""
    rng = np.random.default_rng(shift)
    lut = rng.integers(-32768, 32768, 125).astype(np.int16)
    assert_same(pcan_graph(lut, shift), [[u32(rng, 40), u32(rng, 40)] for _ in range(8)])


def test_pcan_with_a_computed_gain_table():
    rng = np.random.default_rng(8)
    graph = pcan_graph(np.zeros(130, np.int16), 6, n=16, constant=False)
    recs = [[u32(rng, 16), u32(rng, 16), rng.integers(0, 32768, 130).astype(np.int16)] for _ in range(6)]
    assert_same(graph, recs)


def energy_graph(start: int, end: int, n: int = 257):
    b = GraphBuilder("energy")
    x = b.input((2 * n,), "int16")
    y = b.activation((n,), "uint32")
    b.op("custom:SignalEnergy", [x], [y], options=options(end_index=end, start_index=start))
    return b.build([y])


def test_energy():
    """Every bin (TFLM writes only [start, end); tinyq's zeros elsewhere are compared where TFLM writes
    every bin), including (-32768)^2 * 2, which wraps TFLM's int32 sum to 2^31."""
    rng = np.random.default_rng(9)
    recs = [[int16_audio(rng, (514,), kind)] for kind in ("loud", "quiet", "tone", "extremes")]
    recs.append([np.full(514, -32768, np.int16)])
    assert_same(energy_graph(0, 257), recs)


def test_energy_zeros_outside_its_range():
    from signal_cases import run_both

    rng = np.random.default_rng(10)
    recs = [[int16_audio(rng, (514,))] for _ in range(4)]
    _, ours, theirs = run_both(energy_graph(5, 241), recs)
    for mine, gold in zip(ours, theirs):
        assert np.array_equal(mine[0][5:241], np.asarray(gold[0])[5:241])
        assert not mine[0][:5].any() and not mine[0][241:].any()


def refusal(graph) -> str:
    reason = support_report(graph)[0][1]
    assert reason is not None
    return reason


def test_refusals():
    rng = np.random.default_rng(11)
    tables = filter_tables(rng, 4, 10)
    tables[4][2] = 30  # channel 2 reads past the energies
    assert "read past" in refusal(filter_bank_graph(tables, 4, 10))
    assert "num_channels + 1" in refusal(filter_bank_graph(filter_tables(rng, 4, 10)[:4] + [np.ones(3, np.int16)],
                                                           4, 10))
    assert "channels of num_channels" in refusal(filter_bank_graph(filter_tables(rng, 4, 10), 4, 10, outputs=6))
    assert "smoothing_bits is 32" in refusal(subtraction_graph(smoothing_bits=32))
    assert "holds 40 channels, num_channels is 8" in refusal(subtraction_graph(40, num_channels=8))
    assert "reads up to 125" in refusal(pcan_graph(np.zeros(100, np.int16), 6))
    assert "snr_shift is 64" in refusal(pcan_graph(np.zeros(125, np.int16), 64))
    assert "outside the input" in refusal(energy_graph(0, 300))


def test_filter_bank_family_on_targets():
    """micro_speech's chain from the spectrum to the int16 log channels, in one graph, on the host,
    qemu-m55 and ARMv6-M, over a sequence (the noise estimate carries over)."""
    rng = np.random.default_rng(12)
    tables = filter_tables(rng, 16, 65)
    b = GraphBuilder("filter_bank_family")
    spectrum, shift = b.input((130,), "int16"), b.input((), "int32")
    energy = b.activation((65,), "uint32")
    b.op("custom:SignalEnergy", [spectrum], [energy], options=options(end_index=65, start_index=0))
    channels = b.activation((16,), "uint64")
    b.op("custom:SignalFilterBank", [energy] + [b.const(t, "int16") for t in tables], [channels],
         options=options(num_channels=16))
    roots = b.activation((16,), "uint32")
    b.op("custom:SignalFilterBankSquareRoot", [channels, shift], [roots], options=options())
    cleaned, noise = b.activation((16,), "uint32"), b.activation((16,), "uint32")
    b.op("custom:SignalFilterBankSpectralSubtraction", [roots], [cleaned, noise],
         options=options(**{**SUBTRACTION, "num_channels": 16}))
    gained = b.activation((16,), "uint32")
    b.op("custom:SignalPCAN", [cleaned, noise, b.const(rng.integers(0, 32768, 125), "int16")], [gained],
         options=options(snr_shift=6))
    logs = b.activation((16,), "int16")
    b.op("custom:SignalFilterBankLog", [gained], [logs], options=options(input_correction_bits=3, output_scale=64))
    graph = b.build([logs, noise])
    recs = [[int16_audio(rng, (130,)), np.array(rng.integers(0, 17), np.int32)] for _ in range(10)]
    assert_same_on_targets(graph, recs)
