"""TFLM's signal-library streaming ops, each with memory kept from one invoke to the next:
SignalFramer, SignalStacker, SignalDelay and SignalOverlapAdd (signal/micro/kernels/framer.cc,
stacker.cc, delay.cc, overlap_add.cc).

TFLM keeps the samples in circular buffers (signal/src/circular_buffer.cc) or plain buffers in
its persistent memory. tinyq keeps the same samples in a state tensor (passes/signal_state.py)
laid out so that all-zero bytes are TFLM's state after Prepare or Reset:

- FRAMER, per outer dimension: an int32 count (samples held, less the prefill) and the samples,
  oldest first; the buffer never holds more than TFLM's circular buffer's capacity
  (ceil(frame_size / frame_step) * frame_step), whose prefill (frame_size - frame_step zeros) is
  the zeros the state starts with.
- STACKER: a first-frame flag, the count, then up to num_channels * (left + right + 1) values;
  the first frame is repeated stacker_left_context times, as CircularBufferExtend does.
- DELAY, per outer dimension: the last delay_length samples (zeros at first).
- OVERLAP_ADD, per outer dimension: frame_size int16 or float32 partial sums.

Where TFLM's kernel writes no frame (FRAMER or STACKER before enough samples arrived; the valid
flag is then false) it leaves the output as the arena held it; tinyq writes zeros there.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.signal_common import (RE_EXPORT, counts, custom, int32, read_options, require_dtype, require_range,
                                     require_rank, state_tensor, tensor_type)

FRAMER, FRAMER_BUILTIN = custom("SignalFramer")
STACKER, STACKER_BUILTIN = custom("SignalStacker")
DELAY, DELAY_BUILTIN = custom("SignalDelay")
OVERLAP_ADD, OVERLAP_ADD_BUILTIN = custom("SignalOverlapAdd")
MAX_SAMPLES = 1 << 20  # options beyond this are implausible (and would overflow tinyq's int32 offsets)


def _align4(n: int) -> int:
    return (n + 3) // 4 * 4


@dataclass(frozen=True)
class FramerParams:
    frame_size: int
    frame_step: int
    prefill: int  # samples the buffer holds at first (zeros)
    outer: int
    frames: int  # frames per outer dimension and invoke
    capacity: int  # samples TFLM's circular buffer holds
    stride: int  # state bytes per outer dimension


@dataclass(frozen=True)
class StackerParams:
    channels: int
    left: int
    buffer: int  # values output: num_channels * (left + right + 1)
    step: int  # values discarded after an output: num_channels * stacker_step


@dataclass(frozen=True)
class DelayParams:
    frame: int
    delay: int
    outer: int


@dataclass(frozen=True)
class OverlapAddParams:
    dtype: str
    frame_size: int
    frame_step: int
    frames: int
    outer: int


# --- FRAMER --------------------------------------------------------------------------------------

def _framer_params(graph: Graph, op: Operator) -> FramerParams:
    o = read_options(graph, op, ("frame_size", "frame_step", "prefill"))
    size, step, prefill = int32(o["frame_size"]), int32(o["frame_step"]), o["prefill"] != 0
    require_range(graph, op, "frame_size", size, 1, MAX_SAMPLES, "TFLM sizes its buffer by it")
    require_range(graph, op, "frame_step", step, 1, MAX_SAMPLES, "TFLM divides by it")
    if prefill and size < step:
        raise unsupported(graph, op, f"prefill with frame_size {size} below frame_step {step} (TFLM would write "
                                     "a negative count of zeros)", RE_EXPORT)
    x = graph.tensor(op.inputs[0]) if op.inputs else None
    if x is None or not x.shape:
        raise unsupported(graph, op, "the input has no dimensions; TFLM frames its innermost one", RE_EXPORT)
    inner = x.shape[-1]
    if inner < step or inner % step:
        raise unsupported(graph, op, f"the innermost dimension ({inner}) is not a whole number of frame_steps "
                                     f"({step}), as TFLM's Prepare requires", RE_EXPORT)
    capacity = (size + step - 1) // step * step
    return FramerParams(frame_size=size, frame_step=step, prefill=size - step if prefill else 0,
                        outer=x.numel // inner, frames=inner // step, capacity=capacity,
                        stride=_align4(4 + 2 * capacity))


def framer_state_bytes(graph: Graph, op: Operator) -> int:
    p = _framer_params(graph, op)
    return p.outer * p.stride


def lower_framer(graph: Graph, op: Operator) -> Lowered:
    (x,), (y, valid) = counts(graph, op, 1, 2)
    p = _framer_params(graph, op)
    require_dtype(graph, op, x, "int16", "input")
    require_dtype(graph, op, y, "int16", "output")
    require_dtype(graph, op, valid, "bool", "output_valid")
    require_rank(graph, op, valid, 0, "output_valid")
    if len(y.shape) != len(x.shape) + 1 or y.numel != p.outer * p.frames * p.frame_size:
        raise unsupported(graph, op, f"output {list(y.shape)} does not hold {p.outer * p.frames} frames of "
                                     f"{p.frame_size} at rank {len(x.shape) + 1} (TFLM's layout)", RE_EXPORT)
    state = state_tensor(graph, op, framer_state_bytes(graph, op))
    return Lowered(op=op, kernel="signal_framer", params=p, inputs=(x.index, state.index),
                   outputs=(y.index, valid.index))


# --- STACKER -------------------------------------------------------------------------------------

def _stacker_params(graph: Graph, op: Operator) -> StackerParams:
    o = read_options(graph, op, ("num_channels", "stacker_left_context", "stacker_right_context", "stacker_step"))
    channels, left = int32(o["num_channels"]), int32(o["stacker_left_context"])
    right, step = int32(o["stacker_right_context"]), int32(o["stacker_step"])
    require_range(graph, op, "num_channels", channels, 1, MAX_SAMPLES, "the values stacked per invoke")
    require_range(graph, op, "stacker_left_context", left, 0, MAX_SAMPLES, "frames of context")
    require_range(graph, op, "stacker_right_context", right, 0, MAX_SAMPLES, "frames of context")
    require_range(graph, op, "stacker_step", step, 1, left + right + 1,
                  "TFLM discards more frames than its buffer holds otherwise")
    if channels * (left + right + 1) > MAX_SAMPLES:
        raise unsupported(graph, op, f"the stack holds {channels * (left + right + 1)} values", RE_EXPORT)
    return StackerParams(channels=channels, left=left, buffer=channels * (left + right + 1), step=channels * step)


def stacker_state_bytes(graph: Graph, op: Operator) -> int:
    return 8 + _align4(2 * _stacker_params(graph, op).buffer)


def lower_stacker(graph: Graph, op: Operator) -> Lowered:
    (x,), (y, valid) = counts(graph, op, 1, 2)
    p = _stacker_params(graph, op)
    for t, rank, dtype, role in ((x, 1, "int16", "input"), (y, 1, "int16", "output"),
                                 (valid, 0, "bool", "output_valid")):
        require_rank(graph, op, t, rank, role)
        require_dtype(graph, op, t, dtype, role)
    if x.numel != p.channels or y.numel != p.buffer:
        raise unsupported(graph, op, f"input {x.numel} and output {y.numel} values; TFLM reads num_channels "
                                     f"({p.channels}) and writes {p.buffer}", RE_EXPORT)
    state = state_tensor(graph, op, stacker_state_bytes(graph, op))
    return Lowered(op=op, kernel="signal_stacker", params=p, inputs=(x.index, state.index),
                   outputs=(y.index, valid.index))


# --- DELAY ---------------------------------------------------------------------------------------

def _delay_params(graph: Graph, op: Operator) -> DelayParams:
    delay = int32(read_options(graph, op, ("delay_length",))["delay_length"])
    require_range(graph, op, "delay_length", delay, 0, MAX_SAMPLES, "TFLM sizes its buffer by it")
    x = graph.tensor(op.inputs[0]) if op.inputs else None
    if x is None or not x.shape:
        raise unsupported(graph, op, "the input has no dimensions; TFLM delays its innermost one", RE_EXPORT)
    return DelayParams(frame=x.shape[-1], delay=delay, outer=x.numel // x.shape[-1])


def delay_state_bytes(graph: Graph, op: Operator) -> int:
    p = _delay_params(graph, op)
    return _align4(2 * p.outer * p.delay)


def lower_delay(graph: Graph, op: Operator) -> Lowered:
    (x,), (y,) = counts(graph, op, 1, 1)
    p = _delay_params(graph, op)
    require_dtype(graph, op, x, "int16", "input")
    require_dtype(graph, op, y, "int16", "output")
    if y.numel != x.numel:
        raise unsupported(graph, op, f"output holds {y.numel} samples, input {x.numel} (TFLM writes as many as it "
                                     "reads)", RE_EXPORT)
    if p.delay == 0:
        return Lowered(op=op, kernel="signal_delay", params=p, inputs=(x.index,), outputs=(y.index,))
    state = state_tensor(graph, op, delay_state_bytes(graph, op))
    return Lowered(op=op, kernel="signal_delay", params=p, inputs=(x.index, state.index), outputs=(y.index,))


# --- OVERLAP_ADD ---------------------------------------------------------------------------------

def _overlap_add_params(graph: Graph, op: Operator) -> OverlapAddParams:
    o = read_options(graph, op, ("T", "frame_step"))
    dtype, step = tensor_type(graph, op, o), int32(o["frame_step"])
    if dtype == "int32":
        raise unsupported(graph, op, "option T is int32; TFLM's OVERLAP_ADD takes int16 or float32", RE_EXPORT)
    x = graph.tensor(op.inputs[0]) if op.inputs else None
    if x is None or len(x.shape) < 2:
        raise unsupported(graph, op, "the input has fewer than 2 dimensions (frames of samples), as TFLM's "
                                     "Prepare requires", RE_EXPORT)
    size, frames = x.shape[-1], x.shape[-2]
    require_range(graph, op, "frame_step", step, 1, size, "TFLM moves frame_size - frame_step samples")
    return OverlapAddParams(dtype=dtype, frame_size=size, frame_step=step, frames=frames,
                            outer=x.numel // (size * frames) if size * frames else 0)


def overlap_add_state_bytes(graph: Graph, op: Operator) -> int:
    p = _overlap_add_params(graph, op)
    return _align4(p.outer * p.frame_size * (2 if p.dtype == "int16" else 4))


def lower_overlap_add(graph: Graph, op: Operator) -> Lowered:
    (x,), (y,) = counts(graph, op, 1, 1)
    p = _overlap_add_params(graph, op)
    require_dtype(graph, op, x, p.dtype, "input")
    require_dtype(graph, op, y, p.dtype, "output")
    if len(y.shape) + 1 != len(x.shape) or y.numel != p.outer * p.frames * p.frame_step:
        raise unsupported(graph, op, f"output {list(y.shape)} does not hold {p.outer * p.frames} steps of "
                                     f"{p.frame_step} at rank {len(x.shape) - 1} (TFLM's layout)", RE_EXPORT)
    state = state_tensor(graph, op, overlap_add_state_bytes(graph, op))
    return Lowered(op=op, kernel="signal_overlap_add", params=p, inputs=(x.index, state.index), outputs=(y.index,))


SPECS = [
    OpSpec(name=FRAMER, builtin=FRAMER_BUILTIN, lower=lower_framer, kernels=(reference_kernel("signal_framer"),),
           doc="int16, any rank, frame_size and frame_step (a whole number of steps per invoke), prefill; the "
               "buffer kept across invokes and reset as TFLM's"),
    OpSpec(name=STACKER, builtin=STACKER_BUILTIN, lower=lower_stacker, kernels=(reference_kernel("signal_stacker"),),
           doc="int16 frames, left and right context, step up to the context's frames; kept across invokes"),
    OpSpec(name=DELAY, builtin=DELAY_BUILTIN, lower=lower_delay, kernels=(reference_kernel("signal_delay"),),
           doc="int16, any rank, the delayed samples kept across invokes"),
    OpSpec(name=OVERLAP_ADD, builtin=OVERLAP_ADD_BUILTIN, lower=lower_overlap_add,
           kernels=(reference_kernel("signal_overlap_add"),),
           doc="int16 (saturating) or float32 frames, frame_step up to frame_size; the partial sums kept across "
               "invokes"),
]
