"""CIRCULAR_BUFFER: TFLM's custom op for strided streaming convolutions (circular_buffer.cc).

Its output is a variable tensor [batch, slots, h, w] holding the last `slots` inputs
[batch, 1, h, w]: each invoke moves the first slots - 1 rows (of h * w int8 values; only the
first batch, as TFLM) one row up and writes the input as the last row. Then it counts: TFLM's
kernel runs the rest of the graph every `cycles_max`-th invoke only and ends the others early
(kTfLiteAbort: the ops after it do not run, the model's outputs are not written, but the buffer
has moved on). `cycles_max` is element 0 of the custom options' flexbuffer map (its only key:
"cycles_max"); absent or not positive, TFLM's Prepare guesses it for its two example models: 1
when slots is 5, 13 or 25, else 2, except for [.., 2, 96] buffers, where it depends on how many
circular buffers the process prepared before (a static counter): tinyq refuses those.

The buffer is the op's output tensor, a variable tensor: tinyq keeps it in the state region
(tinyq/plan/state.py), updated in place by the kernel; the count since the last run is a state
tensor of its own (passes/signal_state.py), 0 after reset as TFLM's Reset() restores its counter.
tinyq's invoke returns -1 where TFLM's returns kTfLiteAbort, leaving the caller's outputs as they
were (TFLM's then hold whatever its arena holds there).
"""

from __future__ import annotations

from dataclasses import dataclass

from flatbuffers import flexbuffers

from tinyq.ir import Graph, Operator
from tinyq.ops.base import CustomOptions, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.signal_common import INLINE_NUMBERS, STATE_PREFIX, int32, state_tensor

NAME, BUILTIN = "custom:CIRCULAR_BUFFER", "CUSTOM:CIRCULAR_BUFFER"
COUNTER_BYTES = 4  # an int32: invokes since the last run
GUESSED_RUN_EVERY_INVOKE = (5, 13, 25)  # slots for which TFLM's Prepare guesses cycles_max 1
RE_EXPORT = "re-export the model with cycles_max in the op's custom options"


@dataclass(frozen=True)
class CircularBufferParams:
    slots: int
    depth: int  # bytes of one row: h * w
    cycles_max: int  # the op lets the graph run every cycles_max-th invoke


def state_bytes(graph: Graph, op: Operator) -> int:
    """Bytes of the counter tinyq keeps for the op (passes/signal_state.py appends the tensor)."""
    return COUNTER_BYTES


def _cycles_max(graph: Graph, op: Operator) -> int | None:
    """cycles_max as TFLM's Init reads it (element 0 of the root map's values), None when absent."""
    data = op.options.data if isinstance(op.options, CustomOptions) else b""
    if not data:
        return None
    try:
        root = flexbuffers.GetRoot(bytearray(data))
        values = root.AsMap if root.IsMap else None
        keys = tuple(k.Value for k in values.Keys) if values is not None else ()
    except Exception:  # the decoder raises anything on bytes that are no flexbuffer
        values, keys = None, ()
    if values is None or keys != ("cycles_max",):
        raise unsupported(graph, op, f"custom options are not a flexbuffer map of cycles_max (keys {list(keys)})",
                          "TFLM reads element 0 of the map's values, whatever its key; " + RE_EXPORT)
    ref = values.Values[0]
    if ref._type not in INLINE_NUMBERS:
        raise unsupported(graph, op, "cycles_max is not an integer (TFLM reads its raw bytes as one)", RE_EXPORT)
    return int32(ref.AsInt)


def lower(graph: Graph, op: Operator) -> Lowered:
    counter = state_tensor(graph, op, COUNTER_BYTES)
    ins = [t for t in graph.op_inputs(op) if not (t is not None and t.name.startswith(STATE_PREFIX))]
    outs = graph.op_outputs(op)
    if len(ins) != 1 or ins[0] is None or len(outs) != 1:
        raise unsupported(graph, op, f"has {len(ins)} inputs and {len(outs)} outputs; TFLM's CIRCULAR_BUFFER takes "
                                     "one of each", RE_EXPORT)
    x, buffer = ins[0], outs[0]
    if x.dtype != "int8" or buffer.dtype != "int8":
        raise unsupported(graph, op, f"{x.dtype} -> {buffer.dtype}; TFLM's CIRCULAR_BUFFER takes int8 only",
                          "quantize the model to int8")
    if len(x.shape) < 4 or len(buffer.shape) < 4:
        raise unsupported(graph, op, f"shapes {list(x.shape)} -> {list(buffer.shape)}: TFLM reads 4 dimensions",
                          "the input is [batch, 1, h, w], the buffer [batch, slots, h, w]")
    if x.shape[0] != buffer.shape[0] or x.shape[1] != 1 or x.shape[2:4] != buffer.shape[2:4]:
        raise unsupported(graph, op, f"input {list(x.shape)} does not fit buffer {list(buffer.shape)} (TFLM's Prepare)",
                          "the input is [batch, 1, h, w], the buffer [batch, slots, h, w]")
    slots, depth = buffer.shape[1], buffer.shape[2] * buffer.shape[3]
    if slots < 1 or depth < 1:
        raise unsupported(graph, op, f"buffer {list(buffer.shape)} holds no row", "give it at least one slot")
    if x.is_const:
        raise unsupported(graph, op, "its input is a constant", "feed it run-time data")
    if not buffer.is_variable:
        raise unsupported(graph, op, f"its output {buffer.name} is not a variable tensor: TFLM keeps the buffer "
                                     "only in one", RE_EXPORT)
    cycles_max = _cycles_max(graph, op)
    if cycles_max is None or cycles_max <= 0:
        if slots in GUESSED_RUN_EVERY_INVOKE:
            cycles_max = 1
        elif buffer.shape[2:4] == (2, 96):
            raise unsupported(graph, op, "has no cycles_max and a [.., 2, 96] buffer: TFLM's Prepare then guesses "
                                         "from how many circular buffers the process prepared before", RE_EXPORT)
        else:
            cycles_max = 2
    return Lowered(op=op, kernel="circular_buffer", params=CircularBufferParams(slots, depth, cycles_max),
                   inputs=(x.index, buffer.index, counter.index), outputs=())


SPECS = [
    OpSpec(name=NAME, builtin=BUILTIN, lower=lower, kernels=(reference_kernel("circular_buffer"),),
           doc="int8, the buffer a variable tensor kept across invokes; cycles_max from the options or TFLM's "
               "guess; between runs invoke ends early (-1) as TFLM's kTfLiteAbort"),
]
