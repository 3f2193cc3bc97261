"""transpose_conv as the pinned CMSIS-NN runs it: arm_transpose_conv_wrapper_s8's choice, made offline.

The wrapper (as TFLM's glue kernels/cmsis_nn/transpose_conv.cc calls it) runs strides
up to 2 over more than REVERSE_TCOL_EFFICIENT_THRESHOLD input channels as a stride-1
arm_convolve_s8 over the input upscaled by the stride, with the filter reversed in
height and width (the wrapper reverses it into a second buffer at every call; tinyq
reverses it offline into flash) and padding filter - 1 - pad. Everything else runs in
arm_transpose_conv_s8, whose rolling row buffer assumes the output TFLM's converter
makes; the shapes it gets wrong were found by comparing it with TFLM's reference over
random shapes and layouts (tests/test_transpose_conv.py keeps that comparison), and
fall back to tinyq's reference kernel with the reason. Each reason was checked again against
the pinned main (99f736a6): all still hold but #233's (misplaced rows for top padding that is
not a multiple of the stride), which that release fixes; the rule stays for a pin without it.
"""

from __future__ import annotations

import numpy as np

from tinyq.backends.cmsis_nn import too_large
from tinyq.backends.common import shift32
from tinyq.libraries import fixed
from tinyq.ops.base import ConstArray, Kernel, Lowered, Target
from tinyq.ops.transpose_conv import TransposeConvParams

REVERSE_TCOL_EFFICIENT_THRESHOLD = 16  # Include/arm_nnsupportfunctions.h


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def reverse_conv(p: TransposeConvParams) -> bool:
    """The wrapper's choice: strides up to 2 over more than 16 input channels run as a convolution."""
    return p.stride_h <= 2 and p.stride_w <= 2 and p.in_d > REVERSE_TCOL_EFFICIENT_THRESHOLD


def transpose_conv_reason(p: TransposeConvParams) -> str | None:
    """Why arm_transpose_conv_s8 (the pinned release) would not reproduce TFLM for these shapes, or None.

    Its rolling buffer holds max(filter_h, stride_h) rows of (in_w - 1) * stride_w +
    max(filter_w, stride_w) columns starting at output column -pad_w; every input row
    (once past the top padding) flushes stride_h finished rows without checking the output
    height, and the rows left after the last input row are written only inside it."""
    rows_flushed = p.in_h * p.stride_h - p.pad_h
    if p.stride_w > max(p.filter_w, p.stride_h):
        return (f"stride_w {p.stride_w} > max(filter_w, stride_h): arm_transpose_conv_s8_get_buffer_size sizes "
                "the row buffer with stride_h where the kernel uses stride_w (too small)")
    if rows_flushed < 0:
        return f"the top padding {p.pad_h} exceeds the {p.in_h * p.stride_h} rows the input spans"
    if p.out_h < rows_flushed:
        return (f"output height {p.out_h} < {rows_flushed}: arm_transpose_conv_s8 writes stride_h rows per input "
                "row, past the output's end (VALID with filter_h < stride_h, or a cropped output)")
    if p.out_h > rows_flushed + max(0, p.filter_h - p.stride_h):
        return f"output height {p.out_h}: arm_transpose_conv_s8 would leave the rows past the input's reach unwritten"
    if p.out_w + p.pad_w > (p.in_w - 1) * p.stride_w + max(p.filter_w, p.stride_w):
        return f"output width {p.out_w} reaches past arm_transpose_conv_s8's row buffer"
    if p.pad_h % p.stride_h and not fixed("cmsis-nn", "233"):
        return (f"top padding {p.pad_h} is not a multiple of stride_h {p.stride_h}: v7.0.0's arm_transpose_conv_s8 "
                "misplaces the output rows (fixed after v7.0.0, CMSIS-NN #233)")
    return None


def function(p: TransposeConvParams) -> str:
    return "arm_convolve_s8" if reverse_conv(p) else "arm_transpose_conv_s8"


def scratch_bytes(p: TransposeConvParams, isa: str) -> int:
    """arm_transpose_conv_s8_get_buffer_size on the target's code path (the reversed filter,
    arm_transpose_conv_s8_get_reverse_conv_buffer_size, is in flash instead)."""
    if reverse_conv(p):  # arm_convolve_s8_get_buffer_size of the upscaled input
        cols = p.in_d * p.filter_w * p.filter_h
        return 4 * _align(cols, 16) if isa == "mve" else 2 * _align(cols, 4) * 2
    row = ((p.in_w - 1) * p.stride_w + max(p.filter_w, p.stride_h)) * p.out_d
    return 4 * row * max(p.filter_h, p.stride_h)


def reversed_filter_bytes(p: TransposeConvParams) -> int:
    """arm_transpose_conv_s8_get_reverse_conv_buffer_size: the filter the wrapper reverses at run time."""
    return p.in_d * p.filter_w * p.filter_h * p.out_d if reverse_conv(p) else 0


def _applies(k: Lowered, target: Target) -> str | None:
    p = k.params
    limits = too_large(p.in_h * p.stride_h, p.in_w * p.stride_w, p.out_h, p.out_w, p.in_d, p.out_d, p.batches)
    if limits or reverse_conv(p):
        return limits
    return transpose_conv_reason(p)


def _uses(k: Lowered, target: Target) -> tuple[str, ...]:
    return ("multiplier", "bias") if reverse_conv(k.params) else ("filter", "multiplier", "bias")


def _derived(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    p = k.params
    if not reverse_conv(p):
        return (shift32(k),)
    filt = k.const("filter").reshape(p.out_d, p.filter_h, p.filter_w, p.in_d)[:, ::-1, ::-1, :]
    return shift32(k), ConstArray("filter_reversed", "int8_t", np.ascontiguousarray(filt).reshape(-1))


KERNELS = [Kernel(
    name="transpose_conv", template="cmsis_nn/transpose_conv.c.j2", uses=_uses, derived=_derived,
    applies=_applies, function=lambda k, t: function(k.params), scratch=lambda k, t: scratch_bytes(k.params, t.isa),
    doc="strides up to 2 over more than 16 input channels as arm_convolve_s8 on the upscaled input (filter "
        "reversed offline); otherwise arm_transpose_conv_s8 where the library gets the shapes right")]
