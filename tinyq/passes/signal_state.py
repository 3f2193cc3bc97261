"""State tensors for the signal-library ops that keep memory inside TFLM's kernel.

TFLM's SignalFramer, SignalStacker, SignalDelay, SignalOverlapAdd and
SignalFilterBankSpectralSubtraction hold buffers in their persistent memory (circular buffers,
noise estimates) from one invoke to the next, and restore them at MicroInterpreter::Reset()
(so does CIRCULAR_BUFFER, its count of invokes since it last let the graph run). The
graph has no tensor for that memory, so before lowering each such op gets one: a variable uint8
tensor appended to its inputs (named tinyq_state:op<N>, at a new index: the file's tensors keep
theirs). tinyq then keeps it as it keeps any variable tensor (tinyq/plan/state.py): in the arena's
state region, set to 0 by the generated reset. Each op encodes its state so that all-zero bytes
are TFLM's state after Prepare / Reset.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import circular_buffer, signal_filter_bank, signal_framing
from tinyq.ops.signal_common import STATE_PREFIX

# op name -> its state in bytes (raising UnsupportedError when the op is invalid: lowering says why)
STATE_BYTES: dict[str, Callable[[Graph, Operator], int]] = {
    signal_filter_bank.SPECTRAL_SUBTRACTION: signal_filter_bank.subtraction_state_bytes,
    signal_framing.FRAMER: signal_framing.framer_state_bytes,
    signal_framing.STACKER: signal_framing.stacker_state_bytes,
    signal_framing.DELAY: signal_framing.delay_state_bytes,
    signal_framing.OVERLAP_ADD: signal_framing.overlap_add_state_bytes,
    circular_buffer.NAME: circular_buffer.state_bytes,
}


def _has_state(graph: Graph, op: Operator) -> bool:
    last = graph.tensor(op.inputs[-1]) if op.inputs else None
    return last is not None and last.is_variable and last.name.startswith(STATE_PREFIX)


def add_state_tensors(graph: Graph) -> Graph:
    """`graph` with a state tensor appended to the inputs of every stateful signal op (idempotent)."""
    tensors, operators = list(graph.tensors), []
    for op in graph.operators:
        size = STATE_BYTES.get(op.op)
        if size is None or _has_state(graph, op):
            operators.append(op)
            continue
        try:
            nbytes = size(graph, op)
        except UnsupportedError:  # lowering refuses the op with the reason
            nbytes = 0
        if nbytes == 0:  # invalid, or nothing to keep (a delay of 0)
            operators.append(op)
            continue
        state = Tensor(index=len(tensors), name=f"{STATE_PREFIX}op{op.index}", dtype="uint8", shape=(nbytes,),
                       is_variable=True)
        tensors.append(state)
        operators.append(replace(op, inputs=op.inputs + (state.index,)))
    if len(tensors) == len(graph.tensors):
        return graph
    return replace(graph, tensors=tuple(tensors), operators=tuple(operators))
