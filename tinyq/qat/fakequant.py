"""Fake quantization in torch, with tinyq's integer arithmetic and straight-through gradients.

Weights: symmetric, zero point 0, [-7, 7] (int4) or [-127, 127] (int8), one step per output channel:
s = r * max|w| / qmax with a learned clip ratio r in [R_MIN, 1]. That form matters at export: the
fake-quantized weights always reach +-qmax * s in every channel, so tinyq's quantizer (clip "max":
max|w| / qmax) finds exactly the step that training used and rounds every weight to the integer it had.

Activations: asymmetric int8 over a learned range [lo, hi] (widened to hold 0), scale (hi - lo) / 255,
zero point rounded: what tinyq.quantize.qparams.affine_params computes from the same range. Both ends
get gradients through the scale and the clamp (LSQ+: learned step and offset).

Conv, depthwise and fully connected outputs are requantized as TFLM's int8 kernels do it: the int32
accumulator times a fixed-point multiplier, rounded twice (SaturatingRoundingDoublingHighMul, then
RoundingDivideByPOT; TFLM is built without TFLITE_SINGLE_ROUNDING). With int4 weights the multiplier's shift
is small, so the first rounding moves up to 1/16 of a step: rounding once, the fake-quant pass of a narrow
MobileNet was one step below TFLM at 2-9% of each layer's values and its logits differed at two values in
three; with both roundings it is TFLM's integers.

Rounding is half away from zero (std::round, as TFLite's tools and tinyq.qmath.round_half_away); its
gradient is the identity (straight-through estimator).
"""

from __future__ import annotations

import torch

import numpy as np

from tinyq.qmath import INT32_MAX, INT32_MIN, round_half_away, saturating_rounding_doubling_high_mul
from tinyq.quantize.qparams import INT8, WEIGHT_QMAX

R_MIN = 0.3  # the smallest clip ratio a weight step may learn (below it the range would cut most weights)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Half away from zero forward, identity backward."""
    rounded = torch.sign(x) * torch.floor(torch.abs(x) + 0.5)
    return x + (rounded - x).detach()


def scale_grad(x: torch.Tensor, factor: float) -> torch.Tensor:
    """x forward; its gradient times `factor` (LSQ's step-size gradient scale)."""
    return (x - x * factor).detach() + x * factor


def channel_view(w: torch.Tensor, axis: int) -> torch.Tensor:
    return w.movedim(axis, 0).reshape(w.shape[axis], -1)


def broadcast(values: torch.Tensor, ndim: int, axis: int) -> torch.Tensor:
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def weight_steps(w: torch.Tensor, ratio: torch.Tensor, axis: int, dtype: str) -> torch.Tensor:
    """One step per channel (a 1-element ratio: per tensor); an all-zero channel gets step 1 as tinyq's."""
    qmax = WEIGHT_QMAX[dtype]
    rows = channel_view(w, axis) if ratio.numel() > 1 else w.reshape(1, -1)
    absmax = rows.abs().amax(dim=1).detach()
    r = scale_grad(ratio.clamp(R_MIN, 1.0), 1.0 / (rows.shape[1] * qmax) ** 0.5)
    return torch.where(absmax > 0, r * absmax / qmax, torch.ones_like(absmax))


def fake_quant_weights(w: torch.Tensor, ratio: torch.Tensor, axis: int, dtype: str) -> tuple[torch.Tensor,
                                                                                               torch.Tensor]:
    """(the weights on their integer grid, the steps)."""
    qmax = WEIGHT_QMAX[dtype]
    steps = weight_steps(w, ratio, axis, dtype)
    s = broadcast(steps, w.ndim, axis) if steps.numel() > 1 else steps.reshape(())
    q = torch.clamp(round_ste(w / s), -qmax, qmax)
    return q * s, steps


def fake_quant_bias(b: torch.Tensor, input_step: torch.Tensor, weight_steps_: torch.Tensor) -> torch.Tensor:
    """int32 bias at s_in * s_w (never clips in practice: tinyq raises s_w when it would)."""
    s = (input_step * weight_steps_).detach()
    return round_ste(b / s) * s


def affine(lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, zero point) of int8 over [lo, hi] widened to hold 0, as affine_params."""
    qmin, qmax = INT8
    lo = torch.clamp(lo, max=0.0)
    hi = torch.clamp(hi, min=0.0)
    scale = torch.clamp(hi - lo, min=1e-8) / (qmax - qmin)
    scale = scale + (scale.float().to(scale.dtype) - scale).detach()  # the float32 a .tflite stores
    zp = torch.clamp(round_ste(qmin - lo / scale), qmin, qmax)
    return scale, zp


def fake_quant_affine(x: torch.Tensor, scale: torch.Tensor, zp: torch.Tensor,
                      round_stored: bool = False) -> torch.Tensor:
    """x on the int8 grid. Requantizing kernels round x / scale, then add the zero point; `round_stored`:
    the kernel rounds the stored value x / scale + zp itself (TFLM's int8 average pool divides the sum of
    stored values), which differs on ties wherever the zero point moves the sign."""
    qmin, qmax = INT8
    q = round_ste(x / scale + zp) if round_stored else round_ste(x / scale) + zp
    return (torch.clamp(q, qmin, qmax) - zp) * scale


def requantize(y: torch.Tensor, input_step: torch.Tensor, weight_steps_: torch.Tensor,
               output_step: torch.Tensor) -> torch.Tensor:
    """y (a conv's, depthwise's or FC's output before its activation: the int32 sum of the integer
    model times s_in * s_w, channels last) on the output's grid as TFLM puts it there; gradient identity."""
    s_in = np.float32(input_step.detach().double().numpy())
    s_w = np.asarray(weight_steps_.detach().double().numpy(), dtype=np.float32)
    s_out = np.float32(output_step.detach().double().numpy())
    real = s_in.astype(np.float64) * s_w.astype(np.float64) / np.float64(s_out)  # as TFLM's Prepare: in double
    mantissa, shift = np.frexp(real)
    multiplier = round_half_away(mantissa * 2.0 ** 31).astype(np.int64)
    top = multiplier == 2 ** 31
    multiplier, shift = np.where(top, multiplier // 2, multiplier), np.where(top, shift + 1, shift)
    multiplier, shift = np.where(shift < -31, 0, multiplier), np.where(shift < -31, 0, shift).astype(np.int64)
    acc = np.rint(y.detach().double().numpy() / (s_in.astype(np.float64) * s_w.astype(np.float64)))
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    acc = np.clip(acc.astype(np.int64) * np.left_shift(1, left), INT32_MIN, INT32_MAX)
    high = saturating_rounding_doubling_high_mul(acc, multiplier)
    mask = np.left_shift(1, right) - 1
    q = np.right_shift(high, right) + ((high & mask) > (mask >> 1) + (high < 0))
    exact = torch.from_numpy(q * np.float64(s_out)).to(y.dtype)
    return y + (exact - y).detach()
