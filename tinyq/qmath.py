"""Quantization arithmetic, in one place, exactly as TFLite Micro computes it.

Used by op lowering (offline requantization parameters), by the quantizer and
by the tests. `multiply_by_quantized_multiplier` and friends are numpy models of
the C fixed-point helpers in templates/reference/kernels/tq_common.h; TFLM is
built with double rounding (TFLITE_SINGLE_ROUNDING unset), and so is tinyq.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def tflite_round(x: float) -> int:
    """std::round: halves away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: real ~= m * 2^(shift - 31), m in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    assert abs(q_fixed) <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quantize_multiplier_smaller_than_one_exp(real: float) -> tuple[int, int]:
    m, shift = quantize_multiplier(real)
    assert shift <= 0, real
    return m, shift


def per_channel_multipliers(input_scale: float, filter_scales, output_scale: float,
                            channels: int) -> tuple[list[int], list[int]]:
    """PopulateConvolutionQuantizationParams: float32 scales promoted to double."""
    mults, shifts = [], []
    for c in range(channels):
        fs = float(np.float32(filter_scales[c] if len(filter_scales) > 1 else filter_scales[0]))
        real = float(np.float32(input_scale)) * fs / float(np.float32(output_scale))
        m, s = quantize_multiplier(real)
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def activation_range(activation: str, scale: float, zero_point: int,
                     qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the fused activation as an int8 clamp."""
    scale = float(np.float32(scale))

    def quantize(x: float) -> int:
        # TfLiteRound(f / scale) in float, as TFLM does (scale is float32 there)
        return zero_point + tflite_round(float(np.float32(np.float32(x) / np.float32(scale))))

    if activation in ("NONE", None):
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ValueError(f"fused activation {activation} has no quantized range")


# --- numpy models of the C helpers (for tests and offline table building) ---

def saturating_rounding_doubling_high_mul(a, b):
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    # C's int64 division truncates toward zero
    total = ab + nudge
    q = np.where(total >= 0, total // (1 << 31), -((-total) // (1 << 31)))
    return np.where(overflow, INT32_MAX, q).astype(np.int64)


def rounding_divide_by_pot(x, exponent: int):
    x = np.asarray(x, dtype=np.int64)
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier: int, shift: int):
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    x = np.asarray(x, dtype=np.int64) * (1 << left)
    x = np.clip(x, INT32_MIN, INT32_MAX)  # C wraps; callers stay in range by construction
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), right)


# --- SOFTMAX, LOGISTIC, TANH, HARD_SWISH (int8): the Prepare step of TFLM's gemmlowp-based kernels ---

SOFTMAX_DIFF_INTEGER_BITS = 5  # exp() sees the scaled input difference as Q5.26
SIGMOID_INPUT_INTEGER_BITS = 4  # LOGISTIC and TANH see their input as Q4.27


def input_radius(integer_bits: int, left_shift: int, total_bits: int = 31) -> int:
    """CalculateInputRadius: the largest |input| that still fits Q<integer_bits> once
    multiplied by 2^left_shift (and a multiplier below one); floor of an exact double."""
    return math.floor(((1 << integer_bits) - 1) * (1 << (total_bits - integer_bits)) / (1 << left_shift))


def softmax_beta_real(beta: float, input_scale: float) -> float:
    """PreprocessSoftmaxScaling's real multiplier: beta * scale on the Q5.26 grid,
    capped at 2^31 - 1 (double rounding build). Beta and scale are float32 in TFLM."""
    real = float(np.float32(beta)) * float(np.float32(input_scale)) * (1 << (31 - SOFTMAX_DIFF_INTEGER_BITS))
    return min(real, (1 << 31) - 1.0)


def softmax_scaling(beta: float, input_scale: float) -> tuple[int, int, int] | None:
    """(input_multiplier, input_left_shift, diff_min) of int8 SOFTMAX, or None where
    TFLM's QuantizeMultiplierGreaterThanOne would abort (real multiplier <= 1)."""
    real = softmax_beta_real(beta, input_scale)
    if not real > 1.0:
        return None
    multiplier, shift = quantize_multiplier(real)
    return multiplier, shift, -input_radius(SOFTMAX_DIFF_INTEGER_BITS, shift)


def sigmoid_input_scaling(input_scale: float) -> tuple[int, int]:
    """LOGISTIC/TANH int8: the input scale on the Q4.27 grid as frexp gives it
    (multiplier, left_shift); unlike QuantizeMultiplier there is no 2^31 carry,
    which a float32 scale's 24-bit mantissa can never need."""
    q, shift = math.frexp(float(np.float32(input_scale)) * (1 << (31 - SIGMOID_INPUT_INTEGER_BITS)))
    multiplier = tflite_round(q * (1 << 31))
    assert multiplier < (1 << 31), input_scale
    return multiplier, shift


def downscale_multiplier_int16(multiplier: int) -> int:
    """DownScaleInt32ToInt16Multiplier: the Q31 multiplier rounded to Q15, saturating."""
    if multiplier >= INT32_MAX - (1 << 15):
        return (1 << 15) - 1
    return (multiplier + (1 << 15)) >> 16


def hard_swish_scaling(input_scale: float, output_scale: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """HardSwishPrepare: ((reluish_multiplier_q15, exponent), (output_multiplier_q15, exponent)).
    The input is first put on a 'hires' scale of input_scale / 128; both ratios are
    divided in float32 and only then widened, as TFLM does."""
    hires = np.float32(1.0 / 128.0) * np.float32(input_scale)
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    reluish_m, reluish_e = quantize_multiplier(float(hires / reluish_scale))
    output_m, output_e = quantize_multiplier(float(hires / np.float32(output_scale)))
    return ((downscale_multiplier_int16(reluish_m), reluish_e), (downscale_multiplier_int16(output_m), output_e))
