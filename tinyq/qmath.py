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


def round_half_away(x) -> np.ndarray:
    """std::round, elementwise (what TFLite's kernels and quantization tools use), not numpy's
    half-to-even."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def tflite_round(x: float) -> int:
    """std::round of one value, as an int."""
    return int(round_half_away(x))


def real_range(scale: float, zero_point: int, qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[float, float]:
    """The real values a quantized tensor can hold: scale * (q - zero_point) for q in [qmin, qmax]."""
    return scale * (qmin - zero_point), scale * (qmax - zero_point)


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


def scale_ratio_rescale(numerator: float, denominator: float) -> tuple[int, int] | None:
    """QuantizeMultiplier of RELU's, LEAKY_RELU's and ABS's input/output scale ratio; None if it
    is not finite. TFLM's source divides the float32 scales in float32 before widening, but the
    pinned tflite-micro build evaluates the expression at double precision (measured on every
    int16 input: tests/test_scale_ratio_precision.py), and that build is the golden model."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _finite_multiplier(np.float64(np.float32(numerator)) / np.float64(np.float32(denominator)))


def leaky_alpha_rescale(in_scale: float, alpha: float, out_scale: float) -> tuple[int, int] | None:
    """LEAKY_RELU's alpha multiplier: in_scale * alpha / out_scale of the float32 values, at double
    precision as the golden build evaluates it (see scale_ratio_rescale); None if not finite."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        f64 = [np.float64(np.float32(v)) for v in (in_scale, alpha, out_scale)]
        return _finite_multiplier(f64[0] * f64[1] / f64[2])


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


# --- lookup tables (ABS, RSQRT, ELU, GELU), inverse square roots (RSQRT, L2_NORMALIZATION), LOG_SOFTMAX ---

INT8_VALUES = np.arange(INT8_MIN, INT8_MAX + 1, dtype=np.int64)  # the inputs a 256-entry table covers


def lut_order(outputs_by_value) -> np.ndarray:
    """Outputs computed for the inputs -128..127 (INT8_VALUES), as TFLM stores a table:
    entry uint8(input), so the kernel indexes it with the input's byte."""
    table = np.empty(256, dtype=np.int8)
    table[INT8_VALUES & 0xFF] = np.asarray(outputs_by_value, dtype=np.int64)
    return table


def roundf(x) -> np.ndarray:
    """std::round on float32 (halves away from zero), exactly: x - trunc(x) is exact in float32,
    where floor(x + 0.5) would round 0.49999997 up."""
    x = np.asarray(x, dtype=np.float32)
    whole = np.trunc(x)
    away = np.abs(x - whole) >= np.float32(0.5)
    return np.where(away, whole + np.sign(x), whole).astype(np.float32)


def float_lut_int8(in_scale: float, in_zp: int, out_scale: float, out_zp: int, transform) -> np.ndarray | None:
    """TFLM's int8 lookup table from a float function (elu.cc's PopulateLookupTable; LiteRT's
    LUTPopulateInt8 is the same arithmetic): every step in float32 - dequantize, transform,
    times 1/out_scale, std::round, plus the zero point, truncated to int32, clamped to int8.
    `transform` maps a float32 array to a float32 array (tinyq.libm_f32 has the C library's
    functions). None where a value does not fit int32 before the clamp (the cast is undefined
    in C: implausible scales)."""
    inverse_scale = np.float32(1.0) / np.float32(out_scale)
    dequantized = np.float32(in_scale) * (INT8_VALUES - in_zp).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        transformed = np.asarray(transform(dequantized), dtype=np.float32)
        shifted = roundf(transformed * inverse_scale) + np.float32(out_zp)
    if not np.all(np.isfinite(shifted)) or np.any(np.abs(shifted) >= np.float32(2.0**31)):
        return None
    return lut_order(np.clip(np.trunc(shifted).astype(np.int64), INT8_MIN, INT8_MAX))


def abs_rescale(in_scale: float, out_scale: float) -> tuple[int, int] | None:
    """ABS: QuantizeMultiplier of in/out (scale_ratio_rescale); None when the scales are equal as
    float32 (TFLM then adds the zero points without rescaling)."""
    if np.float32(in_scale) == np.float32(out_scale):
        return None
    return scale_ratio_rescale(in_scale, out_scale)


def rsqrt_rescale(in_scale: float, out_scale: float) -> tuple[int, int] | None:
    """RSQRT: 1 / (sqrt(in_scale) * out_scale) of the float32 scales (SetRsqrtOutputMultiplier).
    The source takes sqrtf and the product in float32, but the pinned tflite-micro build evaluates
    all of it at double precision (as scale_ratio_rescale; measured on every int16 input, where the
    float32 product is one multiplier step off for some scales: tests/test_abs_rsqrt_s16.py);
    None if the product is not a positive finite number."""
    product = math.sqrt(f32(in_scale)) * f32(out_scale) if f32(in_scale) >= 0 else math.nan
    if not (math.isfinite(product) and product > 0):
        return None
    return quantize_multiplier(1.0 / product)


def _srdhm_int(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    total = a * b + ((1 << 30) if a * b >= 0 else 1 - (1 << 30))
    return total // (1 << 31) if total >= 0 else -((-total) // (1 << 31))


def _rdbpot_int(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    return (x >> exponent) + ((x & mask) > (mask >> 1) + (x < 0))


def _shl_sat_int(x: int, exponent: int) -> int:
    threshold = (1 << (31 - exponent)) - 1
    return INT32_MAX if x > threshold else INT32_MIN if x < -threshold else x << exponent


def inv_sqrt_quantized_multiplier_exp(value: int, reverse_shift: int = -1) -> tuple[int, int]:
    """GetInvSqrtQuantizedMultiplierExp: 1/sqrt(value) as (Q31 multiplier, shift) by five
    Newton-Raphson steps in gemmlowp's Q3.28 from 1; values <= 1 give (2^31 - 1, 0).
    templates/reference/kernels/tq_inv_sqrt.h is the same code in C."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    pairs = (32 - value.bit_length() - 1) // 2 - 1  # (clz - 1) / 2 - 1: brings value to [2^27, 2^29)
    shift -= pairs
    value <<= 2 * pairs
    half_input = _rdbpot_int(value >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28  # 1.0 in Q3.28
    for _ in range(5):
        x3 = _shl_sat_int(_srdhm_int(_srdhm_int(x, x), x), 6)  # Q9.22 back to Q3.28
        x = _shl_sat_int(wrap_int32(_srdhm_int(half_three, x) - _srdhm_int(half_input, x3)), 3)
    x = _srdhm_int(x, 1518500250)  # times sqrt(2)/2
    if shift < 0:
        x, shift = wrap_int32(x << -shift), 0
    return x, shift * reverse_shift


LOG_SOFTMAX_OUT = (16.0 / 256, 127)  # TFLM requires exactly this output scale and zero point


def log_softmax_scaling(input_scale: float) -> tuple[int, int, int, int, int] | None:
    """LOG_SOFTMAX (int8) Prepare: (input_multiplier, input_left_shift, reverse_scaling_divisor,
    reverse_scaling_right_shift, diff_min) from PreprocessLogSoftmaxScalingExp with beta 1;
    None where TFLM aborts (input scale * 2^26 at most 1)."""
    scaling = softmax_scaling(1.0, input_scale)
    if scaling is None:
        return None
    multiplier, left_shift, diff_min = scaling
    reverse_multiplier, reverse_shift = quantize_multiplier_smaller_than_one_exp(
        (1 << (31 - left_shift)) / float(multiplier))
    return multiplier, left_shift, reverse_multiplier, -reverse_shift, diff_min


# --- SQUARED_DIFFERENCE, DIV, PRELU, ADD_N (int8): their Prepare functions, in double as TFLM ---

SQUARED_DIFFERENCE_LEFT_SHIFT = 7  # TFLM's int8 headroom: 255^2 * 2^14 still fits int32


def squared_difference_rescale(scale1: float, scale2: float, out_scale: float,
                               left_shift: int = SQUARED_DIFFERENCE_LEFT_SHIFT):
    """SquaredDifference's PrepareQuantized: both inputs to 2*max(scales) / 2^left_shift, the squared
    difference to the output: ((m1, s1), (m2, s2), (m_out, s_out)); the output multiplier may exceed 1."""
    twice_max = 2.0 * max(f32(scale1), f32(scale2))  # max in float32, then double as in TFLM
    # (1 << 14) * scale: exact either way; the wheel's binary multiplies in double (cvtss2sd, mulsd)
    real_out = twice_max * twice_max / ((1 << (2 * left_shift)) * f32(out_scale))
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


# --- 16x8 LOGISTIC, TANH and SOFTMAX (int16): TFLM's tables and Prepare arithmetic ---

# sigmoid(i / 24) in unsigned Q0.16, i = 0..255, the table TFLM's int16 LOGISTIC and TANH interpolate.
# It is no rounding of the function (round(65536 * sigmoid(i / 24)) misses 44 entries by one): tinyq
# read it off the golden interpreter, whose int16 TANH returns entry i - 32768 for an input scale of
# 1/48 and input i (tests/test_int16_activations.py reads it again and compares).
SIGMOID_TABLE_Q16 = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
], dtype=np.uint16)


def checked_log2(x: float) -> tuple[int, bool]:
    """TFLite's CheckedLog2: log2 of a float32 rounded (std::log in float32 times 1/log(2)), and
    whether it is within 1e-3 of that integer. numpy's float32 log stands for the C library's logf:
    the two could differ in the last bit only, which moves neither the rounding nor the 1e-3 test
    but for scales within a few ulps of those boundaries."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x_log2 = np.log(np.float32(x)) * (np.float32(1.0) / np.log(np.float32(2.0)))
    if not np.isfinite(x_log2):
        return 0, False
    rounded = roundf(x_log2)
    return int(rounded), bool(abs(np.float32(x_log2 - rounded)) < np.float32(1e-3))


def sigmoid_int16_scaling(input_scale: float, pot_shifts: tuple[int, ...]) -> tuple[int, int]:
    """(multiplier, right shift) taking an int16 LOGISTIC/TANH input to the table's grid (1/(3 * 4096)
    a unit): input * multiplier, rounded, shifted right. A power-of-two scale whose shift
    12 + log2(scale) is one of `pot_shifts` (LOGISTIC: 0; TANH: 0, 1) multiplies by 3 << shift;
    any other doubles scale * 3 * 4096 until it passes 32767 / 2 (at most 31 times) and truncates
    it, as TFLM's Prepare does."""
    log2, exact = checked_log2(input_scale)
    shift = 12 + log2
    if exact and shift in pot_shifts:
        return 3 << shift, 0
    multiplier, shift = float(np.float32(input_scale)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def lut_int16(input_scale: float, input_zp: int, output_scale: float, output_zp: int, transform) -> np.ndarray:
    """LUTPopulateInt16<float>: 513 int16 samples of `transform` (float32 -> float32) over the int16
    input range, each lowered by half the error linear interpolation makes at its interval's
    midpoint; every step in float32 as TFLM computes it."""
    f = np.float32
    i16_min, i16_max = f(-32768), f(32767)
    input_min = f(input_scale) * f(-32768 - input_zp)
    input_max = f(input_scale) * f(32767 - input_zp)
    output_min = f(output_scale) * f(-32768 - output_zp)
    output_max = f(output_scale) * f(32767 - output_zp)
    step = (input_max - input_min) / f(512)
    half_step = step / f(2)
    scaling_inv = f(65536) / (output_max - output_min)
    i = np.arange(512).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        val = transform(input_min + i * step)
        val_mid = transform(input_min + i * step + half_step)
        val_next = transform(input_min + (i + f(1)) * step)
        sample = roundf(val * scaling_inv)
        mid_interp = roundf((val_next * scaling_inv + roundf(val * scaling_inv)) / f(2))
        bias = roundf((mid_interp - roundf(val_mid * scaling_inv)) / f(2))
        last = roundf(transform(np.array([input_max], dtype=np.float32)) * scaling_inv)
    table = np.append(np.clip(sample - bias, i16_min, i16_max), np.clip(last, i16_min, i16_max))
    return table.astype(np.int16)


def softmax_int16_luts() -> tuple[np.ndarray, np.ndarray]:
    """int16 SOFTMAX's two tables (the same for every model): exp on [-10, 0] and 1 / (1 + x) on
    [0, 1], as SoftmaxPrepare fills them with std::exp and float arithmetic."""
    from tinyq import libm_f32
    f = np.float32
    span = 32767 - (-32768)
    exp_lut = lut_int16(f(10.0) / f(span), 32767, f(2.0) / f(span), 0, lambda v: libm_f32.expf(v))
    recip_lut = lut_int16(f(1.0) / f(span), -32768, f(2.0) / f(span), 0, lambda v: f(1.0) / (f(1.0) + v))
    return exp_lut, recip_lut


def softmax_int16_scaling(beta: float, input_scale: float) -> tuple[int, int]:
    """int16 SOFTMAX: input scale * beta on the exp table's grid ([-65535, 0] is [-10, 0]), in double."""
    return quantize_multiplier(f32(input_scale) * f32(beta) / (10.0 / 65535.0))
