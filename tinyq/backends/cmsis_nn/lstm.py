"""unidirectional_sequence_lstm as arm_lstm_unidirectional_s8 / _s16, where CMSIS-NN reproduces
TFLM's reference LSTM (lstm_eval.h) over a sequence of invokes.

TFLM's CMSIS-NN glue (kernels/cmsis_nn/unidirectional_sequence_lstm.cc) passes the library the
effective biases (bias + zero-point terms) and each step's multipliers; it gives it a scratch
buffer as the cell state and no hidden state, and up to v7.0.0 the library starts every call from
a zero state anyway (it clears the cell, and reads no previous hidden state: CMSIS-NN#219). TFLM's
reference keeps both across invokes, so with those releases the library cannot reproduce it.
Later CMSIS-NN takes the hidden state in `cmsis_nn_lstm_context.hidden_state` and keeps the cell
it is given: tinyq then hands it the model's own state tensors (plan/state.py).

The library computes each gate as sat16(sat16(input part) + recurrent part) and the new cell as
clamp(cell + input gate x cell gate) where TFLM saturates the recurrent part and the product to
int16 first: equal whenever those stay within int16, which is checked offline from the weights
(every hidden state the int8 or int16 type holds) and the scales. The 16x8 kernel also sums in
int32 first and keeps arm_nn_requantize_s64's intermediate in an int32 (rules_s16.py), and its
Helium path starts each sum from the effective bias cut to int32. A layer beyond any bound runs
tinyq's reference kernel with the reason.
"""

from __future__ import annotations

import numpy as np

from tinyq import qmath
from tinyq.backends.cmsis_nn import rules_s16, too_large
from tinyq.libraries import LIBRARIES, fixed
from tinyq.ops.base import Kernel, Lowered, Target

INT16_MIN, INT16_MAX = -32768, 32767
STATE_ISSUE = "219"  # CMSIS-NN#219: arm_lstm_unidirectional_s8/s16 clear the state on every call (up to v7.0.0)


def state_reason() -> str | None:
    """Why the pinned CMSIS-NN release (tinyq/libraries.py) cannot carry an LSTM's state, or None:
    a pin with the fix for CMSIS-NN#219 keeps it."""
    if fixed("cmsis-nn", STATE_ISSUE):
        return None
    return (f"CMSIS-NN {LIBRARIES['cmsis-nn'].version} starts arm_lstm_unidirectional from a zero state on every call "
            f"(CMSIS-NN#{STATE_ISSUE}), where TFLM keeps the state across invokes")


def _requant(k: Lowered, acc, multiplier: int, shift: int):
    if k.kernel.endswith("_s16"):
        m16 = rules_s16.reduced_multiplier(multiplier)
        acc = np.asarray(acc, dtype=object)
        return np.array([(int(a) * m16 + (1 << (14 - shift))) >> (15 - shift) for a in acc.reshape(-1)])
    return qmath.multiply_by_quantized_multiplier(acc, multiplier, shift)


def _recurrent_reason(k: Lowered) -> str | None:
    """The recurrent fully connected sums must requantize into int16 for every hidden state."""
    p = k.params
    wide = k.kernel.endswith("_s16")
    lo, hi = (INT16_MIN, INT16_MAX) if wide else (-128, 127)
    w = k.const("recurrent_weights").astype(np.int64)
    for g in range(4):
        top = np.where(w[g] > 0, w[g] * (hi - p.hidden_zero_point), w[g] * (lo - p.hidden_zero_point)).sum(axis=1)
        bottom = np.where(w[g] > 0, w[g] * (lo - p.hidden_zero_point), w[g] * (hi - p.hidden_zero_point)).sum(axis=1)
        if not wide and (top.max(initial=0) > 2**31 - 1 or bottom.min(initial=0) < -2**31):
            return "the recurrent int32 sums could wrap"
        m, s = p.fc_multiplier[2 * g + 1], p.fc_shift[2 * g + 1]
        if max(_requant(k, top, m, s).max(initial=0), -_requant(k, bottom, m, s).min(initial=0)) > INT16_MAX:
            return ("the recurrent sums can leave int16, which CMSIS-NN adds to the gate unsaturated (TFLM "
                    "saturates them first)")
    return None


def _update_reason(k: Lowered) -> str | None:
    """input gate x cell gate, requantized to the cell, must stay within int16 (TFLM saturates it)."""
    p = k.params
    ends = qmath.multiply_by_quantized_multiplier(np.array([32767 * 32767, -32767 * 32768]), p.update_multiplier,
                                                  p.update_shift)
    if ends.max() > INT16_MAX or ends.min() < INT16_MIN:
        return ("input gate x cell gate can leave int16 at this cell scale, which CMSIS-NN adds to the cell "
                "unsaturated (TFLM saturates it first)")
    return None


def _s16_reasons(k: Lowered, target: Target) -> str | None:
    p = k.params
    bias = k.const("effective_bias").reshape(2, 4, p.hidden_size)
    for weights, part in (("input_weights", 0), ("recurrent_weights", 1)):
        w = k.const(weights).astype(np.int64)
        for g in range(4):
            rows = w[g]
            reason = rules_s16.int32_sum_reason(rows, rules_s16.MAX_COL_COUNT) or rules_s16.requantize_reason(
                rows, bias[part, g], [p.fc_multiplier[2 * g + part]] * p.hidden_size,
                [p.fc_shift[2 * g + part]] * p.hidden_size)
            if reason:
                return reason
            if target.isa == "mve":  # each Helium sum starts from the effective bias as an int32
                start = np.abs(bias[part, g]) + rules_s16.INT16_MAGNITUDE * np.abs(rows[:, :rules_s16.MAX_COL_COUNT]).sum(1)
                if start.max(initial=0) >= 2**31:
                    return "the Helium kernel starts each sum from the effective bias as an int32, which these overflow"
    return None


def _applies(k: Lowered, target: Target) -> str | None:
    p = k.params
    if p.cell_clip == 0:
        return ("the cell clip is below one cell unit: TFLM clips every cell to 0, CMSIS-NN reads a clip of 0 as "
                "no clip")
    return (state_reason() or too_large(p.input_size, p.hidden_size) or _update_reason(k) or _recurrent_reason(k)
            or (_s16_reasons(k, target) if k.kernel.endswith("_s16") else None))


def _scratch(k: Lowered, target: Target) -> int:
    """temp1 and temp2: one int16 gate vector per batch row each (the cell is the model's state)."""
    return 2 * k.params.rows * k.params.sequences * k.params.hidden_size * 2


USES = ("input_weights", "recurrent_weights", "effective_bias")

KERNELS = [
    Kernel(name="unidirectional_sequence_lstm", template="cmsis_nn/unidirectional_sequence_lstm.c.j2", uses=USES,
           applies=_applies, function=lambda k, t: "arm_lstm_unidirectional_s8", scratch=_scratch,
           doc="a release that keeps the state across calls (after v7.0.0); recurrent sums and the cell update "
               "that stay within int16"),
    Kernel(name="unidirectional_sequence_lstm_s16", template="cmsis_nn/unidirectional_sequence_lstm_s16.c.j2",
           uses=USES, applies=_applies, function=lambda k, t: "arm_lstm_unidirectional_s16", scratch=_scratch,
           doc="as the int8 kernel, and int32 partial sums the weights cannot overflow (rules_s16)"),
]
