"""What TFLM's 16x8 kernels share: int16 activations, int8 weights, 64-bit (or 32-bit) accumulators.

Convolution, depthwise convolution, fully connected (and transposed convolution) sum
int8 weights times int16 inputs in an int64 accumulator when the bias is int64, in an
int32 one when it is int32 (or absent with `quantized_bias_type` INT32), and requantize
the int64 sum with TFLite's 64-bit MultiplyByQuantizedMultiplier: the Q31 multiplier
rounded to Q15, then one rounding shift by 15 - shift (tq_common_s16.h, tq_mbqm64).
"""

from __future__ import annotations

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import unsupported
from tinyq.ops.common import require_shifts

# tq_mbqm64 shifts right by 15 - shift after adding 2^(14 - shift): defined for shift <= 14
# (TFLM asserts shift < 8; its release build computes the same up to 14).
MAX_WIDE_SHIFT = 14


def wide_accumulator(bias: Tensor | None, quantized_bias_type: str = "FLOAT32") -> bool:
    """TFLM's choice: a 64-bit accumulator unless the bias is int32 (or absent with
    quantized_bias_type INT32)."""
    if bias is not None:
        return bias.dtype != "int32"
    return quantized_bias_type != "INT32"


def require_accumulator_shifts(graph: Graph, op: Operator, shifts, wide: bool) -> None:
    """The requantization shifts the chosen accumulator's MultiplyByQuantizedMultiplier takes."""
    if not wide:
        require_shifts(graph, op, shifts)
        return
    worst = max((int(s) for s in shifts), default=0)
    if worst > MAX_WIDE_SHIFT:
        raise unsupported(graph, op, f"the requantization multiplier is 2^{worst - 1} or more: TFLM's 64-bit "
                                     "requantization is undefined there", "re-quantize the model; real scale "
                                     "ratios are far smaller")


def require_int8_weights(graph: Graph, op: Operator, w: Tensor) -> None:
    if w.dtype != "int8":
        raise unsupported(graph, op, f"filter is {w.dtype}; int16 activations need int8 weights (16x8)",
                          "TFLM has no 16x4 kernels; quantize the weights to int8")
