"""unidirectional_sequence_lstm (int8) as tq_mve_lstm_s8: the reference kernel's arithmetic with each
unit's eight fully connected sums taken 16 lanes at a time (templates/tq_mve/kernels/tq_mve_lstm.c).

Bit-exact with TFLM by construction: the same int32 sums (wrapping, so in any order) and the same
element-wise steps; unlike CMSIS-NN's LSTM it needs no bound on the weights, and it keeps the
state in the model's state tensors whatever CMSIS-NN release is pinned. Where CMSIS-NN's LSTM does
apply, that one is faster (it also vectorizes the element-wise steps), so this kernel passes."""

from __future__ import annotations

from tinyq.backends.cmsis_nn import lstm as cmsis_lstm
from tinyq.backends.tq_mve import isa_reason
from tinyq.ops.base import Kernel, Lowered, Target


def _applies(k: Lowered, target: Target) -> str | None:
    if isa_reason(target):
        return isa_reason(target)
    if cmsis_lstm.KERNELS[0].applies(k, target) is None:
        # measured: the converter's streaming keyword model (tests/data/streaming) on qemu-m55 runs in
        # 17,594 instructions with CMSIS-NN's LSTM, 27,250 with this kernel
        return "CMSIS-NN's arm_lstm_unidirectional_s8 applies, and also vectorizes the element-wise steps"
    return None


KERNELS = [Kernel(name="unidirectional_sequence_lstm", template="tq_mve/unidirectional_sequence_lstm.c.j2",
                  uses=("input_weights", "recurrent_weights", "effective_bias", "sigmoid_table"),
                  applies=_applies, function=lambda k, t: "tq_mve_lstm_s8",
                  doc="Helium targets where CMSIS-NN's LSTM does not apply")]
