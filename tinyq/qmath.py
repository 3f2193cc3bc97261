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


# glibc's and newlib's expf (ARM optimized-routines, EXP2F_TABLE_BITS = 5): 2^(k/32) with the
# table entry's exponent bits taken out, and a cubic in double for 2^(r/32).
_EXP2F_TABLE = np.array([
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540], dtype=np.uint64)
_EXPF_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * 32
_EXPF_SHIFT = float.fromhex("0x1.8p+52")
_EXPF_POLY = (float.fromhex("0x1.c6af84b912394p-5") / 32 / 32 / 32, float.fromhex("0x1.ebfce50fac4f3p-3") / 32 / 32,
              float.fromhex("0x1.62e42ff0c52d6p-1") / 32)
EXPF_UNDERFLOW = float(np.float32(float.fromhex("-0x1.9fe368p6")))  # below it expf returns 0
EXPF_OVERFLOW = float(np.float32(float.fromhex("0x1.62e42ep6")))  # above it expf returns inf


def expf(x) -> np.ndarray:
    """expf of float32 values as glibc (2.27 and later) and newlib compute it, for TFLM's
    Prepare-time tables (std::exp of a float). Not correctly rounded: about one float in
    20,000 differs from exp() rounded to float32. Checked on every float32 in [-110, 89]
    against glibc 2.36's expf: equal but for two inputs (-0x1.f8cbb2p+5 and 0x1.04845ep+5),
    where the FMA build glibc picks on FMA-capable x86-64 fuses r = z - kd."""
    x = np.asarray(x, dtype=np.float32)
    xd = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        z = _EXPF_INV_LN2_N * xd
        kd = z + _EXPF_SHIFT
        ki = kd.view(np.uint64)
        kd = kd - _EXPF_SHIFT
        r = z - kd
        s = (_EXP2F_TABLE[ki % np.uint64(32)] + (ki << np.uint64(47))).view(np.float64)
        c0, c1, c2 = _EXPF_POLY
        y = (c0 * r + c1) * (r * r) + (c2 * r + 1.0)
        result = (y * s).astype(np.float32)
    result = np.where(xd < EXPF_UNDERFLOW, np.float32(0.0), result)
    result = np.where(xd > EXPF_OVERFLOW, np.float32(np.inf), result)
    return np.where(np.isnan(x), x, result).astype(np.float32)


def float_lut_int8(in_scale: float, in_zp: int, out_scale: float, out_zp: int, transform) -> np.ndarray | None:
    """TFLM's int8 lookup table from a float function (elu.cc's PopulateLookupTable; LiteRT's
    LUTPopulateInt8 is the same arithmetic): every step in float32 - dequantize, transform,
    times 1/out_scale, std::round, plus the zero point, truncated to int32, clamped to int8.
    `transform` maps a float32 array to a float32 array. None where a value does not fit
    int32 before the clamp (the cast is undefined in C: implausible scales)."""
    inverse_scale = np.float32(1.0) / np.float32(out_scale)
    dequantized = np.float32(in_scale) * (INT8_VALUES - in_zp).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        transformed = np.asarray(transform(dequantized), dtype=np.float32)
        shifted = roundf(transformed * inverse_scale) + np.float32(out_zp)
    if not np.all(np.isfinite(shifted)) or np.any(np.abs(shifted) >= np.float32(2.0**31)):
        return None
    return lut_order(np.clip(np.trunc(shifted).astype(np.int64), INT8_MIN, INT8_MAX))


def abs_rescale(in_scale: float, out_scale: float) -> tuple[int, int] | None:
    """ABS (int8): QuantizeMultiplier of in/out divided in float32 then widened; None when the
    scales are equal as float32 (TFLM then adds the zero points without rescaling)."""
    if np.float32(in_scale) == np.float32(out_scale):
        return None
    return ratio_rescale_f32(in_scale, out_scale)


def rsqrt_rescale(in_scale: float, out_scale: float) -> tuple[int, int] | None:
    """RSQRT (int8): 1 / (sqrtf(in_scale) * out_scale), the product in float32 and the
    reciprocal in double (SetRsqrtOutputMultiplier); None if the product overflows float32."""
    with np.errstate(over="ignore"):
        product = np.sqrt(np.float32(in_scale)) * np.float32(out_scale)
    if not np.isfinite(product):
        return None
    return quantize_multiplier(1.0 / float(product))


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
