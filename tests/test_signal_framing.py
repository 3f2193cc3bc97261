"""TFLM's signal-library streaming ops against TFLM over sequences of invokes (their state carries
from one to the next): SignalFramer (prefill or not, several frames and outer dimensions per invoke,
a frame shorter than its step), SignalStacker (left and right context, steps up to the context's
frames), SignalDelay (0, shorter and longer than the frame), SignalOverlapAdd (int16 saturating,
float32); where TFLM writes no frame (valid false) it leaves its output as it was and tinyq writes
zeros; the state tensors tinyq adds; the refusals; one merged graph on qemu-m55 and ARMv6-M."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import QEMU_BOARDS
from signal_cases import assert_same, int16_audio, options, run_both
from tinyq.lower import lower_graph, support_report
from tinyq.passes.signal_state import add_state_tensors
from tinyq.ops.signal_common import STATE_PREFIX
from tinyq.tflite.builder import GraphBuilder


def sequence(seed: int, shape, n: int = 12, dtype: str = "int16"):
    rng = np.random.default_rng(seed)
    if dtype == "int16":
        return [[int16_audio(rng, shape)] for _ in range(n)]
    return [[rng.normal(0, 100, shape).astype(np.float32)] for _ in range(n)]


def assert_valid_frames_equal(graph, records) -> list[bool]:
    """Outputs equal wherever TFLM's valid flag is true (and the flags equal); zeros elsewhere."""
    _, ours, theirs = run_both(graph, records)
    flags = []
    for r, (mine, gold) in enumerate(zip(ours, theirs)):
        valid = bool(np.asarray(gold[1]).reshape(-1)[0])
        assert bool(mine[1].reshape(-1)[0]) == valid, f"record {r}: valid flag"
        if valid:
            assert mine[0].tobytes() == np.asarray(gold[0]).reshape(mine[0].shape).tobytes(), f"record {r}"
        flags.append(valid)
    return flags


def framer_graph(size: int, step: int, prefill: bool, shape):
    b = GraphBuilder("framer")
    x = b.input(shape, "int16")
    y = b.activation(tuple(shape[:-1]) + (shape[-1] // step, size), "int16")
    valid = b.activation((), "bool")
    b.op("custom:SignalFramer", [x], [y, valid], options=options(frame_size=size, frame_step=step, prefill=prefill))
    return b.build([y, valid])


@pytest.mark.parametrize("size, step, prefill, shape", [
    (5, 2, False, (4,)), (5, 2, True, (4,)), (480, 320, True, (320,)), (3, 3, False, (2, 6)), (2, 4, False, (8,)),
    (7, 1, True, (3,)), (6, 2, False, (2, 3, 2))])
def test_framer(size, step, prefill, shape):
    flags = assert_valid_frames_equal(framer_graph(size, step, prefill, shape), sequence(size, shape))
    assert flags[-1]  # the buffer fills within the sequence


def test_framer_writes_zeros_until_its_first_frame():
    graph = framer_graph(9, 2, False, (2,))
    compiled, ours, _ = run_both(graph, sequence(1, (2,), n=6))
    assert [bool(o[1].reshape(-1)[0]) for o in ours] == [False, False, False, False, True, True]
    assert not any(o[0].any() for o in ours[:4])


def stacker_graph(channels: int, left: int, right: int, step: int):
    b = GraphBuilder("stacker")
    x = b.input((channels,), "int16")
    y = b.activation((channels * (left + right + 1),), "int16")
    valid = b.activation((), "bool")
    b.op("custom:SignalStacker", [x], [y, valid], options=options(
        num_channels=channels, stacker_left_context=left, stacker_right_context=right, stacker_step=step))
    return b.build([y, valid])


@pytest.mark.parametrize("channels, left, right, step", [(4, 2, 1, 1), (3, 0, 0, 1), (2, 3, 2, 3), (2, 1, 1, 2),
                                                          (40, 0, 0, 1), (5, 0, 3, 4)])
def test_stacker(channels, left, right, step):
    flags = assert_valid_frames_equal(stacker_graph(channels, left, right, step), sequence(channels, (channels,)))
    assert any(flags)


@pytest.mark.parametrize("delay, shape", [(3, (5,)), (0, (4,)), (7, (2, 3)), (5, (5,)), (1, (1,))])
def test_delay(delay, shape):
    b = GraphBuilder("delay")
    x = b.input(shape, "int16")
    y = b.activation(shape, "int16")
    b.op("custom:SignalDelay", [x], [y], options=options(delay_length=delay))
    assert_same(b.build([y]), sequence(delay, shape, n=8))


@pytest.mark.parametrize("dtype", ["int16", "float32"])
@pytest.mark.parametrize("step, shape", [(2, (3, 6)), (4, (1, 4)), (1, (2, 2, 5))])
def test_overlap_add(dtype, step, shape):
    b = GraphBuilder("overlap_add")
    x = b.input(shape, dtype)
    y = b.activation(tuple(shape[:-2]) + (shape[-2] * step,), dtype)
    b.op("custom:SignalOverlapAdd", [x], [y], options=options(T={"int16": 7, "float32": 0}[dtype], frame_step=step))
    assert_same(b.build([y]), sequence(step, shape, n=8, dtype=dtype))


def test_state_tensors_are_variables_of_the_arena_state():
    """Each stateful op gets one zero-initialised variable tensor, at a new index (the file's keep theirs)."""
    graph = framer_graph(5, 2, True, (4,))
    lowered = lower_graph(graph)
    state = lowered.graph.tensors[-1]
    assert len(lowered.graph.tensors) == len(graph.tensors) + 1
    assert state.is_variable and state.name.startswith(STATE_PREFIX) and state.dtype == "uint8"
    assert lowered.ops[0].inputs[-1] == state.index
    assert add_state_tensors(lowered.graph) is lowered.graph  # adding them again adds nothing


def refusal(graph) -> str:
    reason = support_report(graph)[0][1]
    assert reason is not None
    return reason


def test_refusals():
    assert "negative count of zeros" in refusal(framer_graph(2, 4, True, (8,)))
    assert "whole number of frame_steps" in refusal(framer_graph(4, 3, False, (4,)))
    assert "stacker_step is 3" in refusal(stacker_graph(2, 1, 0, 3))
    b = GraphBuilder("delay")
    x = b.input((4,), "int16")
    y = b.activation((4,), "int16")
    b.op("custom:SignalDelay", [x], [y], options=options(delay_length=-1))
    assert "delay_length is -1" in refusal(b.build([y]))
    b = GraphBuilder("overlap_add")
    x = b.input((2, 4), "int16")
    y = b.activation((10,), "int16")
    b.op("custom:SignalOverlapAdd", [x], [y], options=options(T=7, frame_step=5))
    assert "frame_step is 5" in refusal(b.build([y]))


def test_framing_family_on_targets():
    """Framer -> delay -> overlap-add and a stacker, in one graph, on the host, qemu-m55 and ARMv6-M."""
    b = GraphBuilder("framing_family")
    audio, feature = b.input((6,), "int16"), b.input((3,), "int16")
    frames, valid = b.activation((3, 4), "int16"), b.activation((), "bool")
    b.op("custom:SignalFramer", [audio], [frames, valid], options=options(frame_size=4, frame_step=2, prefill=True))
    late = b.activation((3, 4), "int16")
    b.op("custom:SignalDelay", [frames], [late], options=options(delay_length=3))
    summed = b.activation((6,), "int16")
    b.op("custom:SignalOverlapAdd", [late], [summed], options=options(T=7, frame_step=2))
    stack, stacked = b.activation((9,), "int16"), b.activation((), "bool")
    b.op("custom:SignalStacker", [feature], [stack, stacked], options=options(
        num_channels=3, stacker_left_context=1, stacker_right_context=1, stacker_step=1))
    graph = b.build([frames, valid, summed, stack, stacked])
    rng = np.random.default_rng(13)
    recs = [[int16_audio(rng, (6,)), int16_audio(rng, (3,))] for _ in range(10)]
    for board in ("host",) + QEMU_BOARDS:
        _, ours, theirs = run_both(graph, recs, board)
        for r, (mine, gold) in enumerate(zip(ours, theirs)):
            stacker_wrote = bool(np.asarray(gold[4]).reshape(-1)[0])
            for k, (a, g) in enumerate(zip(mine, gold)):
                if k == 3 and not stacker_wrote:  # TFLM's output is then whatever its arena held
                    continue
                assert a.tobytes() == np.asarray(g).reshape(a.shape).tobytes(), f"{board}: record {r}, output {k}"
