"""The quantizer's arithmetic: choosing scales and zero points, rounding weights and biases.

Runtime arithmetic (multipliers, shifts, rounding of products) is tinyq.qmath;
this module decides the parameters that arithmetic later consumes. Scales are
rounded to float32 the moment they are chosen: the file stores float32, and
biases must be quantized with exactly the scales TFLM will read.
"""

from __future__ import annotations

import numpy as np

from tinyq.qmath import round_half_away

INT8 = (-128, 127)
INT16 = (-32768, 32767)
INT_RANGES = {"int8": INT8, "int16": INT16}
INT32_MAX = 2**31 - 1
# int64 biases of 16x8 ops: tinyq (as TFLM's 64-bit accumulator leaves room for) takes |bias| < 2^47
BIAS_LIMIT = {"int32": INT32_MAX, "int64": 2**47 - 1}
BIAS_HEADROOM = {"int32": 2.0**30, "int64": 2.0**46}  # the largest bias a weight scale is raised to allow
MIN_MULTIPLIER = 2.0**-31  # below it TFLite's QuantizeMultiplier flushes a requantization multiplier to 0
WEIGHT_QMAX = {"int8": 127, "int4": 7}  # symmetric: [-127, 127] and [-7, 7], zero point 0
# the largest |value| (weight, constant or activation) the quantizer takes: a scale is at most 2^61 / 255, so
# s_in * s_w, which TFLM computes in float32 (largest 2^128), stays finite; real models stay far below it
VALUE_LIMIT = 2.0**60


def f32(x) -> float:
    return float(np.float32(x))


def affine_params(lo: float, hi: float, qmin: int = INT8[0], qmax: int = INT8[1]) -> tuple[float, int]:
    """Asymmetric (scale, zero point) covering [lo, hi], nudged so that 0.0 is exact.

    The range is widened to include 0; the zero point is derived from whichever
    end loses less precision, as TFLite's GetAsymmetricQuantizationParams does.
    """
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-30:
        return 1.0, 0  # an all-zero tensor: any scale represents it
    scale = f32((hi - lo) / (qmax - qmin))
    zp_from_min = qmin - lo / scale
    zp_from_max = qmax - hi / scale
    err_min = abs(qmin) + abs(lo / scale)
    err_max = abs(qmax) + abs(hi / scale)
    zp = zp_from_min if err_min < err_max else zp_from_max
    return scale, int(np.clip(round_half_away(zp), qmin, qmax))


def symmetric_params(lo: float, hi: float, qmax: int = INT16[1]) -> tuple[float, int]:
    """Zero point 0, scale max(|lo|, |hi|) / qmax: TFLite's int16 activations (GetSymmetricScale)."""
    bound = max(abs(float(lo)), abs(float(hi)))
    if bound < 1e-30:
        return 1.0, 0
    return f32(bound / qmax), 0


def fake_quant(x, scale: float, zero_point: int, qmin: int = INT8[0], qmax: int = INT8[1]) -> np.ndarray:
    q = np.clip(round_half_away(np.asarray(x, dtype=np.float64) / scale) + zero_point, qmin, qmax)
    return (q - zero_point) * scale


def _channel_view(w: np.ndarray, axis: int) -> np.ndarray:
    """w as (channels, everything else)."""
    return np.moveaxis(np.asarray(w, dtype=np.float64), axis, 0).reshape(w.shape[axis], -1)


def _broadcast(values, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return np.asarray(values, dtype=np.float64).reshape(shape)


def symmetric_scales(w: np.ndarray, axis: int, qmax: int, per_channel: bool, clip=None) -> np.ndarray:
    """max|w| / qmax per channel (or one for the tensor), times an optional clip ratio per channel."""
    absmax = np.abs(_channel_view(w, axis)).max(axis=1) if per_channel else np.array([np.abs(w).max()])
    if clip is not None:
        absmax = absmax * np.asarray(clip, dtype=np.float64)
    scales = np.where(absmax > 0, absmax / qmax, 1.0)  # an all-zero channel: any scale works
    return scales.astype(np.float32)


def quantize_symmetric(w: np.ndarray, scales, axis: int, qmax: int) -> np.ndarray:
    s = np.asarray(scales, dtype=np.float64)
    s = _broadcast(s, w.ndim, axis) if s.size > 1 else s.reshape(())
    return np.clip(round_half_away(np.asarray(w, dtype=np.float64) / s), -qmax, qmax).astype(np.int8)


def dequantize_symmetric(q: np.ndarray, scales, axis: int) -> np.ndarray:
    s = np.asarray(scales, dtype=np.float64)
    s = _broadcast(s, q.ndim, axis) if s.size > 1 else s.reshape(())
    return q.astype(np.float64) * s


def mse_clip_ratios(w: np.ndarray, axis: int, qmax: int, per_channel: bool,
                    ratios=np.linspace(0.5, 1.0, 51)) -> np.ndarray:
    """Per channel, the clip ratio of max|w| that minimizes the weights' squared rounding error."""
    rows = _channel_view(w, axis) if per_channel else np.asarray(w, dtype=np.float64).reshape(1, -1)
    absmax = np.abs(rows).max(axis=1, keepdims=True)
    best_err = np.full(rows.shape[0], np.inf)
    best = np.ones(rows.shape[0])
    for r in ratios:
        s = np.where(absmax > 0, absmax * r / qmax, 1.0)
        err = ((np.clip(round_half_away(rows / s), -qmax, qmax) * s - rows) ** 2).sum(axis=1)
        better = err < best_err - 1e-18
        best_err = np.where(better, err, best_err)
        best = np.where(better, r, best)
    return best


def bias_scales(input_scale: float, weight_scales) -> np.ndarray:
    """s_in * s_w per channel, as TFLM multiplies the float32 values it reads."""
    return (np.float64(np.float32(input_scale)) * np.asarray(weight_scales, dtype=np.float32).astype(np.float64))


def quantize_bias(b: np.ndarray, input_scale: float, weight_scales, dtype: str = "int32") -> np.ndarray:
    """int32 (int8 activations) or int64 (16x8) bias at s_in * s_w, rounded half away from zero."""
    s = bias_scales(input_scale, weight_scales)
    limit = BIAS_LIMIT[dtype]
    return np.clip(round_half_away(np.asarray(b, dtype=np.float64) / s), -limit, limit).astype(dtype)


def min_weight_scales_for_bias(b: np.ndarray, input_scale: float, weight_scales, dtype: str = "int32",
                               output_scale: float | None = None) -> np.ndarray:
    """Raise weight scales where the bias would not fit its type at s_in * s_w (tiny weights, big bias).

    int64 (16x8) biases leave room for scales small enough that the requantization multiplier
    s_in * s_w / s_out falls below 2^-31, where TFLite flushes it to 0 and the channel outputs 0 (a 16x8
    MobileNet's near-dead channels, weights ~1e-30 beside a bias, did): given `output_scale`, the scales
    are raised to keep it at 2^-31 - which moves only channels whose weights change the output by less
    than 1/500 of a step.
    """
    s_w = np.asarray(weight_scales, dtype=np.float64)
    need = np.abs(np.asarray(b, dtype=np.float64)) / (f32(input_scale) * BIAS_HEADROOM[dtype])  # room for the sums
    if dtype == "int64" and output_scale is not None:
        need = np.maximum(need, MIN_MULTIPLIER * f32(output_scale) / f32(input_scale))
    if s_w.size == 1:
        need = need.max(initial=0.0, keepdims=True).reshape(1)
    return np.maximum(s_w, need).astype(np.float32)


def sqnr_db(reference, approx) -> float:
    """10 log10(signal power / noise power); inf when identical, 0 signal gives -inf unless exact."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    err = ref - np.asarray(approx, dtype=np.float64).reshape(-1)
    noise = float(np.dot(err, err))
    signal = float(np.dot(ref, ref))
    if noise == 0.0:
        return float("inf")
    if signal == 0.0:
        return float("-inf")
    return 10.0 * np.log10(signal / noise)
