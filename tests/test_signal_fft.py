"""TFLM's signal-library SignalWindow, SignalFftAutoScale, SignalRfft and SignalIrfft against TFLM:
int16 (Q15), int32 (Q31) and float32 transforms over every KISS FFT radix (2, 3, 4, 5) and several
frames, zero padding, full-scale and quiet signals, MaxAbs16's -32768 quirk; the offline tables
(factorization, input order, twiddles); the refusals; one merged graph on qemu-m55 and ARMv6-M."""

from __future__ import annotations

import numpy as np
import pytest

from signal_cases import assert_same, assert_same_on_targets, int16_audio, options
from tinyq.errors import UnsupportedError
from tinyq.lower import lower_graph, support_report
from tinyq.ops.signal_kissfft import factors, input_order, twiddles
from tinyq.tflite.builder import GraphBuilder

TYPE_CODES = {"int16": 7, "int32": 2, "float32": 0}
# fft_length, input samples: every radix and mix of them, zero padding, the micro_speech FFT
LENGTHS = [(4, 3), (6, 6), (8, 8), (10, 7), (16, 10), (30, 30), (40, 33), (50, 50), (64, 64), (120, 100),
           (512, 480)]


def samples(rng, dtype: str, shape) -> np.ndarray:
    if dtype == "int16":
        return int16_audio(rng, shape)
    if dtype == "int32":
        scale = 2 ** int(rng.integers(8, 32))
        return rng.integers(-scale, scale, shape, dtype=np.int64).clip(-2**31, 2**31 - 1).astype(np.int32)
    return (rng.normal(0, 1, shape) * 10.0 ** rng.integers(-3, 5)).astype(np.float32)


def records(seed: int, dtype: str, shapes, n: int = 6):
    rng = np.random.default_rng(seed)
    return [[samples(rng, dtype, s) for s in shapes] for _ in range(n)]


def rfft_graph(dtype: str, length: int, frame: int, frames: int = 2, inverse: bool = False):
    return fft_graph(dtype, [(length, frame)], frames, inverse)


def fft_graph(dtype: str, cases, frames: int = 2, inverse: bool = False):
    """One RFFT (or IRFFT) per (fft_length, frame) case, each on its own input: one build for all."""
    b = GraphBuilder("irfft" if inverse else "rfft")
    outputs = []
    for length, frame in cases:
        x = b.input((frames, frame), dtype)
        y = b.activation((frames, length if inverse else length + 2), dtype)
        b.op("custom:SignalIrfft" if inverse else "custom:SignalRfft", [x], [y],
             options=options(T=TYPE_CODES[dtype], fft_length=length))
        outputs.append(y)
    return b.build(outputs)


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_rfft(dtype):
    graph = fft_graph(dtype, LENGTHS)
    assert_same(graph, records(1, dtype, [(2, frame) for _, frame in LENGTHS]))


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_irfft(dtype):
    cases = [(length, length + 2) for length, _ in LENGTHS]
    graph = fft_graph(dtype, cases, inverse=True)
    assert_same(graph, records(2, dtype, [(2, frame) for _, frame in cases]))


def test_irfft_reads_the_first_bins_of_longer_frames():
    graph = rfft_graph("int16", 16, 24, frames=3, inverse=True)
    assert_same(graph, records(3, "int16", [(3, 24)]))


def test_rfft_of_one_frame_of_rank_1():
    b = GraphBuilder("rfft1")
    x = b.input((256,), "int16")
    y = b.activation((258,), "int16")
    b.op("custom:SignalRfft", [x], [y], options=options(T=7, fft_length=256))
    assert_same(b.build([y]), records(4, "int16", [(256,)]))


def auto_scale_graph(n: int = 480):
    b = GraphBuilder("auto_scale")
    x = b.input((n,), "int16")
    y, bits = b.activation((n,), "int16"), b.activation((), "int32")
    b.op("custom:SignalFftAutoScale", [x], [y, bits], options=options())
    return b.build([y, bits])


def test_fft_auto_scale():
    """Shifts 0 to 15, silence (MostSignificantBit32(0) is 32 in TFLM's GCC build), and -32768: TFLM's
    MaxAbs16 keeps it as -32768 and lets any later sample above it win, so [.., -32768, 3] shifts
    by 13 and wraps the -32768."""
    rng = np.random.default_rng(7)
    recs = [[int16_audio(rng, (480,), kind)] for kind in ("loud", "quiet", "tone", "extremes", "silence")]
    recs += [[(np.arange(480) % 7 - 3).astype(np.int16) << k] for k in range(0, 13, 3)]
    recs += [[np.array([5] * 479 + [-32768], np.int16)], [np.array([-32768] + [3] * 479, np.int16)],
             [np.full(480, -32768, np.int16)], [np.array([1] + [0] * 479, np.int16)]]
    assert_same(auto_scale_graph(), recs)


def window_graph(shape, window: int, shift: int, weights=None, constant: bool = True):
    rng = np.random.default_rng(window + shift)
    w_values = rng.integers(-32768, 32768, window).astype(np.int16) if weights is None else weights
    b = GraphBuilder("window")
    x = b.input(shape, "int16")
    w = b.const(w_values, "int16") if constant else b.input((window,), "int16")
    y = b.activation(shape, "int16")
    b.op("custom:SignalWindow", [x, w], [y], options=options(shift=shift))
    return b.build([y])


@pytest.mark.parametrize("shape, window, shift", [((1, 480), 480, 12), ((2, 6), 6, 0), ((12,), 4, 31),
                                                  ((3, 2, 5), 10, 15)])
def test_window(shape, window, shift):
    assert_same(window_graph(shape, window, shift), records(window, "int16", [shape]))


def test_window_computed_at_run_time_saturates():
    graph = window_graph((2, 8), 8, 3, constant=False)
    rng = np.random.default_rng(3)
    recs = [[int16_audio(rng, (2, 8), "extremes"), int16_audio(rng, (8,), "extremes")] for _ in range(6)]
    assert_same(graph, recs)


def test_kissfft_tables():
    """kf_factor's order (4s first, then 2, then odd primes), a permutation for the input order, and
    Q15 twiddles within int16 (cos 0 rounds to 32767, not 32768)."""
    assert factors(256) == [(4, 64), (4, 16), (4, 4), (4, 1)]
    assert factors(8) == [(4, 2), (2, 1)]
    assert factors(30) == [(2, 15), (3, 5), (5, 1)]
    assert factors(7) == [(7, 1)]
    for n in (8, 30, 240, 256):
        assert sorted(input_order(n).tolist()) == list(range(n))
    q15 = twiddles(256, False, "int16")
    assert q15[0].tolist() == [32767, 0] and q15[128].tolist() == [-32767, 0]


def refusal(graph) -> str:
    reason = dict((op.index, r) for op, r in support_report(graph))[0]
    assert reason is not None
    with pytest.raises(UnsupportedError):
        lower_graph(graph)
    return reason


@pytest.mark.parametrize("length, frame, why", [
    (7, 7, "even length"), (14, 14, "radix 7"), (2, 2, "radix 1"), (16, 20, "longer than fft_length")])
def test_rfft_refusals(length, frame, why):
    assert why in refusal(rfft_graph("int16", length, frame))


def test_option_refusals():
    """TFLM reads options by position: other keys, or a float where it reads an integer, are refused."""
    b = GraphBuilder("bad")
    x = b.input((8,), "int16")
    y = b.activation((10,), "int16")
    b.op("custom:SignalRfft", [x], [y], options=options(T=7, fft_length=8, extra=1))
    assert "by position" in refusal(b.build([y]))
    b = GraphBuilder("bad")
    x = b.input((8,), "int16")
    y = b.activation((10,), "int16")
    b.op("custom:SignalRfft", [x], [y], options=options(T=7, fft_length=8.0))
    assert "not an integer" in refusal(b.build([y]))
    b = GraphBuilder("bad")
    x = b.input((8,), "int16")
    y = b.activation((10,), "int16")
    b.op("custom:SignalRfft", [x], [y], options=options(T=9, fft_length=8))
    assert "TensorType 9" in refusal(b.build([y]))
    assert "shift is 32" in refusal(window_graph((8,), 8, 32))
    assert "whole windows" in refusal(window_graph((10,), 4, 1))


def test_fft_family_on_targets():
    """Window, auto scale, the three RFFTs and IRFFTs in one graph, on the host, qemu-m55 and ARMv6-M."""
    b = GraphBuilder("fft_family")
    audio = b.input((1, 64), "int16")
    windowed = b.activation((1, 64), "int16")
    b.op("custom:SignalWindow", [audio, b.const(np.hanning(64) * 32767, "int16")], [windowed],
         options=options(shift=12))
    flat, scaled, bits = b.activation((64,), "int16"), b.activation((64,), "int16"), b.activation((), "int32")
    b.op("reshape", [windowed, b.const(np.array([64], np.int32))], [flat])
    b.op("custom:SignalFftAutoScale", [flat], [scaled, bits], options=options())
    outputs = [bits]
    for dtype, length in (("int16", 64), ("int32", 60), ("float32", 50)):
        x = scaled if dtype == "int16" else b.input((2, length - 5), dtype)
        spectrum = b.activation((66,) if dtype == "int16" else (2, length + 2), dtype)
        b.op("custom:SignalRfft", [x], [spectrum], options=options(T=TYPE_CODES[dtype], fft_length=length))
        back = b.activation((64,) if dtype == "int16" else (2, length), dtype)
        b.op("custom:SignalIrfft", [spectrum], [back], options=options(T=TYPE_CODES[dtype], fft_length=length))
        outputs += [spectrum, back]
    graph = b.build(outputs)
    rng = np.random.default_rng(11)
    recs = [[int16_audio(rng, (1, 64)), samples(rng, "int32", (2, 55)), samples(rng, "float32", (2, 45))]
            for _ in range(4)]
    assert_same_on_targets(graph, recs)
