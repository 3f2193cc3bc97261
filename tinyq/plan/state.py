"""Tensors that survive invocations: LSTM and SVDF state, any variable tensor.

TFLite marks a tensor that keeps its value from one invoke to the next `is_variable`; the
stateful ops (UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF) take it as an input and update it in place.
TFLM allocates such tensors in its persistent area and gives them their initial value when the
tensors are allocated and at every `MicroInterpreter::Reset()`: every byte set to the tensor's
zero point if it is int8, else to 0 (`MicroInterpreterGraph::ResetTensorData`; an int16 state
with a zero point still starts at 0, and any data the file holds for it is ignored).

tinyq keeps them in one region of the arena, the *state*: buffers.tensor_lifetimes makes each
live from before the first op to after the outputs are copied out (every step of an invoke),
aliasing.py packs them into one storage group that is never a view or in-place partner of any
other tensor, and verify.verify_tensors proves that no other tensor or scratch area shares a byte
with it at any step, so nothing touches the state between two invokes either. The generated
`tinyq_<name>_reset()` writes the initial values; invoke runs it once before its first run.
Another op that needs memory kept across invocations makes its tensor a variable tensor: this
module, the planner and the generated reset then treat it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Tensor
from tinyq.lower import LoweredGraph


@dataclass(frozen=True)
class StateReset:
    """One persistent tensor's bytes in the arena and the byte TFLM fills them with."""

    tensor: int
    name: str
    offset: int
    bytes: int
    fill: int  # 0..255


def persistent_tensors(lowered: LoweredGraph) -> tuple[int, ...]:
    """The variable tensors the ops read or write (constants excluded), in index order."""
    graph = lowered.graph
    touched = {t for k in lowered.ops for t in k.inputs + k.outputs if t >= 0}
    found = tuple(sorted(t for t in touched if graph.tensors[t].is_variable and graph.tensors[t].nbytes))
    written = {t: k for k in lowered.ops for t in k.outputs}
    for t in found:
        if t in written or t in graph.outputs or t in graph.inputs:
            role = "an op's output" if t in written else "a graph input or output"
            raise UnsupportedError(f"variable tensor {t} ({graph.tensors[t].name}) is {role}",
                                   where="graph", hint="tinyq keeps variable tensors as state that only the "
                                                       "stateful ops (LSTM, SVDF) read and update")
    return found


def reset_fill(t: Tensor) -> int:
    """The byte TFLM's ResetTensorData writes over every byte of `t`."""
    if t.dtype == "int8" and t.quant is not None:
        return t.quant.zp & 0xFF
    return 0


def state_resets(graph: Graph, persistent: tuple[int, ...], offset_of) -> list[StateReset]:
    """What the generated reset writes: `offset_of(tensor)` is the tensor's arena offset."""
    return [StateReset(tensor=t, name=graph.tensors[t].name, offset=offset_of(t), bytes=graph.tensors[t].nbytes,
                       fill=reset_fill(graph.tensors[t])) for t in persistent]
