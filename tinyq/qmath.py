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


def round_to_int32(x: float) -> int | None:
    """static_cast<int32_t>(TfLiteRound(x)) where C defines it; None for NaN, infinities and values
    outside int32, where TFLM's result is undefined (so tinyq refuses rather than guesses)."""
    if not math.isfinite(x):
        return None
    r = tflite_round(x)
    return r if INT32_MIN <= r <= INT32_MAX else None


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: real ~= m * 2^(shift - 31), m in [2^30, 2^31).
    `real` must be finite (the float32 ratios below return None when they are not);
    the shift is unbounded above: callers refuse what the kernels cannot shift."""
    if not math.isfinite(real):
        raise ValueError(f"QuantizeMultiplier of {real}")
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
                     qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int] | None:
    """CalculateActivationRangeQuantized: the fused activation as an int8 clamp; None when a bound
    does not fit int32 (TFLM's conversion is undefined: the scale is implausibly small)."""
    scale = float(np.float32(scale))

    def quantize(x: float) -> int | None:
        # TfLiteRound(f / scale) in float, as TFLM does (scale is float32 there)
        with np.errstate(over="ignore"):
            q = round_to_int32(float(np.float32(np.float32(x) / np.float32(scale))))
        return None if q is None else zero_point + q

    bounds = {"NONE": (None, None), None: (None, None), "RELU": (0.0, None), "RELU6": (0.0, 6.0),
              "RELU_N1_TO_1": (-1.0, 1.0)}.get(activation)
    if bounds is None:
        raise ValueError(f"fused activation {activation} has no quantized range")
    low, high = (None if b is None else quantize(b) for b in bounds)
    if (bounds[0] is not None and low is None) or (bounds[1] is not None and high is None):
        return None
    return (qmin if low is None else max(qmin, low)), (qmax if high is None else min(qmax, high))


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


# --- elementwise, activation, quantize and reduce ops (TFLM's Prepare functions) ---

def f32(x: float) -> float:
    """A scale as TFLM holds it: the file's float32, widened only where TFLM widens it."""
    return float(np.float32(x))


def quantize_multiplier_below_one(real: float) -> tuple[int, int] | None:
    """QuantizeMultiplierSmallerThanOneExp, or None where TFLM's CHECK (0 < real < 1) would abort."""
    if not 0.0 < real < 1.0:
        return None
    return quantize_multiplier_smaller_than_one_exp(real)


def add_rescale(scale1: float, scale2: float, out_scale: float,
                left_shift: int = 20) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
    """CalculateOpDataAdd (int8): both inputs brought to a common scale of
    2*max(scale1, scale2) / 2^left_shift, summed, then rescaled to the output.
    Returns ((m1, s1), (m2, s2), (m_out, s_out)), or None if TFLM rejects the scales."""
    twice_max = 2.0 * max(f32(scale1), f32(scale2))  # max in float32, then double as in TFLM
    real1 = f32(scale1) / twice_max
    real2 = f32(scale2) / twice_max
    real_out = twice_max / ((1 << left_shift) * f32(out_scale))
    parts = tuple(quantize_multiplier_below_one(r) for r in (real1, real2, real_out))
    return None if any(p is None for p in parts) else parts


def mul_rescale(scale1: float, scale2: float, out_scale: float) -> tuple[int, int]:
    """CalculateOpDataMul: s1 * s2 / s_out in double."""
    return quantize_multiplier(f32(scale1) * f32(scale2) / f32(out_scale))


def _finite_multiplier(real) -> tuple[int, int] | None:
    """QuantizeMultiplier of a float32 result, or None when float32 overflowed (TFLM: undefined)."""
    return quantize_multiplier(float(real)) if np.isfinite(real) else None


def ratio_rescale_f32(numerator: float, denominator: float) -> tuple[int, int] | None:
    """QuantizeMultiplier of a ratio TFLM divides in float32 before widening
    (RELU's and LEAKY_RELU's input/output scale ratio); None if the ratio overflows float32."""
    with np.errstate(over="ignore"):
        return _finite_multiplier(np.float32(numerator) / np.float32(denominator))


def leaky_alpha_rescale(in_scale: float, alpha: float, out_scale: float) -> tuple[int, int] | None:
    """LEAKY_RELU's alpha multiplier: in_scale * alpha / out_scale, all in float32 (None on overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_multiplier(np.float32(np.float32(in_scale) * np.float32(alpha)) / np.float32(out_scale))


def requantize_rescale(in_scale: float, out_scale: float) -> tuple[int, int]:
    """QUANTIZE between integer types, MEAN and SUM: in/out scale ratio in double."""
    return quantize_multiplier(f32(in_scale) / f32(out_scale))


def float_to_quantized(value: float, scale: float, zero_point: int,
                       qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> int | None:
    """FloatToQuantizedType: round(value / scale) in float32, plus zero point, clamped; None where
    the rounded value does not fit int32 (undefined in TFLM)."""
    with np.errstate(over="ignore"):
        q = round_to_int32(float(np.float32(np.float32(value) / np.float32(scale))))
    return None if q is None else max(qmin, min(qmax, q + zero_point))


def mean_rescale(in_scale: float, out_scale: float, count: int, compute_sum: bool = False) -> tuple[int, int]:
    """QuantizedMeanOrSum: the scale ratio, with 1/count folded into the multiplier
    for MEAN (shift limited to 32 and to 31 + the ratio's shift, as TFLM does)."""
    multiplier, shift = requantize_rescale(in_scale, out_scale)
    if compute_sum or count <= 0:
        return multiplier, shift
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << extra) // count, shift - extra


def wrap_int32(x: int) -> int:
    """x reduced to int32 the way two's-complement C arithmetic wraps it."""
    return (int(x) + 2**31) % 2**32 - 2**31



def accumulator_start(rows, input_offset: int, bias=None, filter_offset: int = 0) -> np.ndarray:
    """Per output channel (one row of weights each), bias + input_offset * sum(w + filter_offset),
    wrapped to int32: what a kernel that sums w * x adds to reproduce TFLM's sum of
    (w + filter_offset) * (x + input_offset) + bias, minus the filter_offset * x terms (the same
    int32 value, since the sums wrap mod 2**32 either way). CMSIS-NN's arm_vector_sum_s8 computes it."""
    rows = np.asarray(rows, dtype=np.int64)
    sums = rows.sum(axis=1) + rows.shape[1] * filter_offset
    start = sums * input_offset + (np.asarray(bias, dtype=np.int64) if bias is not None else 0)
    return ((start + 2**31) % 2**32 - 2**31).astype(np.int32)

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


def hard_swish_scaling(input_scale: float, output_scale: float
                       ) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """HardSwishPrepare: ((reluish_multiplier_q15, exponent), (output_multiplier_q15, exponent)).
    The input is first put on a 'hires' scale of input_scale / 128; both ratios are
    divided in float32 and only then widened, as TFLM does (None if one overflows float32)."""
    hires = np.float32(1.0 / 128.0) * np.float32(input_scale)
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    with np.errstate(over="ignore"):
        reluish = _finite_multiplier(hires / reluish_scale)
        output = _finite_multiplier(hires / np.float32(output_scale))
    if reluish is None or output is None:
        return None
    (reluish_m, reluish_e), (output_m, output_e) = reluish, output
    return ((downscale_multiplier_int16(reluish_m), reluish_e), (downscale_multiplier_int16(output_m), output_e))


# --- CAST (tinyq/ops/cast.py, folded casts in tinyq/passes/fold.py) ---

def tflm_cast(values, np_type) -> np.ndarray:
    """TFLM's CAST: integers narrow modulo 2^n and round to the nearest float; float to an integer
    type truncates toward zero and saturates, NaN giving 0 (what the golden TFLM computes where C++
    leaves it undefined); bool is 0 or 1."""
    v = np.asarray(values)
    target = np.dtype(np_type)
    if v.dtype.kind == "f" and target.kind in "iu":
        info = np.iinfo(target)
        wide = np.nan_to_num(np.trunc(v.astype(np.float64)), nan=0.0, posinf=info.max, neginf=info.min)
        return np.clip(wide, info.min, info.max).astype(np.int64).astype(target)
    with np.errstate(invalid="ignore", over="ignore"):
        return v.astype(target)


# --- SQUARED_DIFFERENCE, DIV, PRELU, ADD_N (int8): their Prepare functions, in double as TFLM ---

SQUARED_DIFFERENCE_LEFT_SHIFT = 7  # TFLM's int8 headroom: 255^2 * 2^14 still fits int32


def squared_difference_rescale(scale1: float, scale2: float, out_scale: float,
                               left_shift: int = SQUARED_DIFFERENCE_LEFT_SHIFT):
    """SquaredDifference's PrepareQuantized: both inputs to 2*max(scales) / 2^left_shift, the squared
    difference to the output: ((m1, s1), (m2, s2), (m_out, s_out)); the output multiplier may exceed 1."""
    twice_max = 2.0 * max(f32(scale1), f32(scale2))  # max in float32, then double as in TFLM
    real_out = twice_max * twice_max / f32(np.float32(1 << (2 * left_shift)) * np.float32(out_scale))
    return (quantize_multiplier_smaller_than_one_exp(f32(scale1) / twice_max),
            quantize_multiplier_smaller_than_one_exp(f32(scale2) / twice_max),
            quantize_multiplier(real_out))


def div_rescale(scale1: float, scale2: float, out_scale: float) -> tuple[int, int]:
    """DIV (int8): s1 / (s2 * s_out). The tflite-micro wheel's Prepare widens the three float32
    scales to double before multiplying (its disassembly: cvtss2sd, mulsd, divsd)."""
    return quantize_multiplier(f32(scale1) / (f32(scale2) * f32(out_scale)))


def prelu_rescale(in_scale: float, alpha_scale: float, out_scale: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """CalculatePreluParams: s_in / s_out for x >= 0, s_in * s_alpha / s_out for x < 0, in double."""
    return (quantize_multiplier(f32(in_scale) / f32(out_scale)),
            quantize_multiplier(f32(in_scale) * f32(alpha_scale) / f32(out_scale)))


ADD_N_LEFT_SHIFT = 20  # kAddNIntegerShift


def add_n_rescale(in_scale: float, out_scale: float) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """ADD_N's CalculateOpData (int8, every input at one scale): the input multiplier (always 1/2)
    and s_in * 2 / (2^20 * s_out); None where TFLM's CHECK (multiplier below 1) would abort."""
    twice = 2 * f32(in_scale)
    parts = (quantize_multiplier_below_one(f32(in_scale) / twice),
             quantize_multiplier_below_one(twice / ((1 << ADD_N_LEFT_SHIFT) * f32(out_scale))))
    return None if None in parts else parts
