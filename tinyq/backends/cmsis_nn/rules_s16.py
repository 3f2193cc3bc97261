"""When CMSIS-NN's (v7.0.0) s16 kernels reproduce TFLM's 16x8 arithmetic, and their scratch.

TFLM sums int16 x int8 products in an int64 accumulator and requantizes the sum with its
64-bit MultiplyByQuantizedMultiplier: (acc * m16 + 2^(14 - shift)) >> (15 - shift), m16 the
multiplier rounded to Q15. CMSIS-NN gets the same numbers two ways that can part from it:

* it sums (part of) a row in int32 before widening: `arm_convolve_s16`'s scalar tail sums a
  whole filter row, the Helium and DSP matrix kernels and `arm_nn_vec_mat_mult_t_s16` the first
  MAX_COL_COUNT (512) columns; with inputs in [-32768, 32767] that int32 sum cannot overflow
  while 32768 * sum(|w|) stays below 2^31, which holds for real layers;
* `arm_nn_requantize_s64` keeps (acc * m16) >> (14 - shift) in an int32 before its last
  rounding shift, one bit more than TFLM keeps: equal whenever that value fits an int32, which
  the bound (32768 * sum(|w|) + |bias|) * m16 < 2^(45 - shift) guarantees.

A layer whose weights break a bound runs tinyq's reference kernel, with the reason. With an
int32 bias (TFLM's 32-bit accumulator) both wrap the same int32 sum and requantize it alike.
Scratch sizes are the library's *_get_buffer_size for each code path (tests/test_int16_cmsis_nn.py
checks them against the library compiled for each).
"""

from __future__ import annotations

import numpy as np

MAX_COL_COUNT = 512  # Include/arm_nnsupportfunctions.h
INT16_MAGNITUDE = 32768  # the largest |input|
INT32_LIMIT = 2**31


def reduced_multiplier(multiplier: int) -> int:
    """REDUCE_MULTIPLIER: the Q31 multiplier rounded to Q15 (TFLM's int64 requantization does the same)."""
    return (multiplier + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF


def int32_sum_reason(rows: np.ndarray, columns: int | None = None) -> str | None:
    """Why summing the first `columns` (all: None) products of some row in int32 could overflow."""
    rows = np.abs(np.asarray(rows, dtype=np.int64))
    worst = int((rows[:, :columns].sum(axis=1) * INT16_MAGNITUDE).max(initial=0))
    if worst >= INT32_LIMIT:
        return (f"CMSIS-NN sums a row of {rows.shape[1]} int16 x int8 products in int32 first, which these "
                "weights could overflow (TFLM sums in int64)")
    return None


def requantize_reason(rows: np.ndarray, bias, multipliers, shifts) -> str | None:
    """Why arm_nn_requantize_s64's int32 intermediate could wrap where TFLM's result does not."""
    rows = np.abs(np.asarray(rows, dtype=np.int64))
    sums = [int(s) * INT16_MAGNITUDE for s in rows.sum(axis=1)]
    biases = [0] * len(sums) if bias is None else [abs(int(b)) for b in np.asarray(bias).reshape(-1)]
    for total, b, m, s in zip(sums, biases, np.asarray(multipliers).reshape(-1), np.asarray(shifts).reshape(-1)):
        if (total + b) * reduced_multiplier(int(m)) >= 1 << (45 - int(s)):
            return ("arm_nn_requantize_s64 keeps one more bit than TFLM in an int32: these weights, bias and "
                    "scales could wrap it")
    return None


def conv_scratch_bytes(in_d: int, filter_h: int, filter_w: int, isa: str) -> int:
    """arm_convolve_wrapper_s16_get_buffer_size: im2col rows of int16 (four whole 8-lane vectors on
    Helium, two columns otherwise)."""
    cols = in_d * filter_h * filter_w
    if isa == "mve":
        return 4 * ((cols + 7) // 8) * 8 * 2
    return 2 * cols * 2


def depthwise_fast(depth_multiplier: int, dilation_h: int, dilation_w: int, filter_h: int, filter_w: int) -> bool:
    """USE_FAST_DW_CONV_S16_FUNCTION: arm_depthwise_conv_wrapper_s16's choice of its fast kernel."""
    return depth_multiplier == 1 and dilation_h == dilation_w == 1 and filter_h * filter_w < MAX_COL_COUNT


def depthwise_scratch_bytes(fast: bool, in_d: int, filter_h: int, filter_w: int, isa: str) -> int:
    """arm_depthwise_conv_wrapper_s16_get_buffer_size (the fast kernel's im2col; none without DSP)."""
    if not fast or isa == "scalar":
        return 0
    taps = in_d * filter_h * filter_w * 2
    return 4 * taps + 8 if isa == "mve" else taps
