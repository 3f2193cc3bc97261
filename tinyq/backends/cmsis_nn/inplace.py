"""Which CMSIS-NN calls may write their output over the input they read, keyed on the function
that runs and its code path: the loop order of the pinned release (Source/...), read function by
function, in the terms of tinyq/ops/inplace.py's proofs.

The wrappers' choice is made offline (rules.py), so the rule is that of the kernel that runs,
on the target's path ("scalar", "dsp", "mve"). Where the library reads some of its input again
after a later part of the output was written, there is no rule (None), and the reason is here.
The element-wise kernels declare theirs beside them (arm_elementwise_{add,mul}_s8, arm_maximum_s8,
arm_minimum_s8: each block of 4 or 16 lanes loaded, then stored at the same places; arm_softmax_s8:
a row's max and sum first, then element by element). arm_transpose_s8 has none (it reads permuted
places), nor arm_pad_s8 (in place, its row copies would overlap their own source, which
arm_memcpy_s8 does not allow).
tests/test_inplace_backends.py runs every rule with the planner using it, bit-exact with TFLM on
the host and under QEMU (Helium, DSP, ARMv6-M).
"""

from __future__ import annotations

from tinyq.backends.cmsis_nn.rules import CH_IN_BLOCK_MVE
from tinyq.ops.base import InPlace, Lowered, Target
from tinyq.ops.inplace import CHANNEL_WINDOW, WINDOW, gemm_rows, gemm_window, sliding_window, window_after_copy

# arm_convolve_s8 (and arm_depthwise_conv_s8_opt on DSP): each pixel's window is copied into the
# im2col buffer (2 columns on scalar/DSP, 4 rows on Helium, or one pixel) before the GEMM over the
# buffer writes those pixels; the input is never read again
IM2COL = InPlace(window_after_copy, "copies each block of windows (2 pixels; Helium: 4; depthwise on DSP: 1) "
                                    "into its im2col buffer before writing their outputs, batch and pixels "
                                    "in raster order (arm_convolve_s8, arm_depthwise_conv_s8_opt)")
# arm_nn_mat_mult_nt_t_s8 on Helium: 4 input rows at a time (then single rows), each output channel
# computed from the 4 rows and scattered to them before the next channel re-reads the rows
GEMM4 = gemm_window(4, "arm_nn_mat_mult_nt_t_s8 (Helium) reads 4 input rows for each output channel it "
                       "writes to those 4 pixels, rows in raster order (1x1 and 1xN convolutions)")


def _row_gemm(k: Lowered, graph, i: int) -> int | None:
    return sliding_window(k, graph, i, lookahead=k.params.out_w)


# arm_convolve_1x1_s8 on scalar/DSP: one arm_nn_mat_mult_nt_t_s8 per output row, whose outer loop
# runs over pairs of output channels and inner over the row's pixels
ROW_GEMM = InPlace(_row_gemm, "arm_convolve_1x1_s8 (scalar/DSP) computes one output row at a time, re-reading "
                              "the row's input pixels for each pair of output channels")
# arm_fully_connected_s8 / _per_channel_s8: per batch row, arm_nn_vec_mat_mult_t_* writes output
# values while re-reading the whole input row for each
FC_ROWS = gemm_rows(1, "arm_fully_connected_s8 walks the batch rows in order, reading the input row again "
                       "for every output value it writes to the row")


def _conv(k: Lowered, target: Target, function: str) -> InPlace | None:
    if function in ("arm_convolve_s4", "arm_convolve_even_s4", "arm_convolve_wrapper_s16"):
        return IM2COL  # the same im2col blocks (s16: the wrapper always runs arm_convolve_s16)
    function = function.replace("_s4", "_s8")  # the s4 1x1 and 1xN kernels loop as their s8 twins
    if function == "arm_convolve_s8":
        # over groups, the group loop is outside the pixel loops: every window is read again per group
        grouped = hasattr(k.params, "filter_d") and k.params.filter_d != k.params.in_d
        return None if grouped else IM2COL
    if function == "arm_convolve_1x1_s8_fast":
        # scalar/DSP: one arm_nn_mat_mult_nt_t_s8 covers every pixel, pairs of output channels outside
        # and all input rows inside: the first rows are read again after the last pixels were
        # written, which no shift short of the whole output allows. (armclang's DSP build of the s8
        # kernel copies 2 columns first instead; no armclang here to test that, so no rule either.)
        return GEMM4 if target.isa == "mve" else None
    if function == "arm_convolve_1x1_s8":
        return GEMM4 if target.isa == "mve" else ROW_GEMM
    if function == "arm_convolve_1_x_n_s8":
        # Helium: left/right padded pixels copied first, the unpadded middle a GEMM of 4 rows
        # straight from the input; elsewhere it is arm_convolve_s8
        return GEMM4 if target.isa == "mve" else IM2COL
    return None


def _depthwise(k: Lowered, target: Target, function: str) -> InPlace | None:
    if function in ("arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_s8", "arm_depthwise_conv_s4",
                    "arm_depthwise_conv_s16"):
        # channel c (4 at a time in 3x3, 2 in s4) of a pixel's window read just before output channel c
        return CHANNEL_WINDOW
    if function in ("arm_depthwise_conv_s4_opt", "arm_depthwise_conv_fast_s16"):
        # s4 (scalar/DSP): one pixel's window as int16, then its outputs; s16 (DSP: one pixel,
        # Helium: 4 pixels, blocks running on across batches) the same
        return IM2COL
    if function == "arm_depthwise_conv_s8_opt":
        if target.isa == "scalar":
            return CHANNEL_WINDOW  # without DSP it calls arm_depthwise_conv_s8
        if target.isa == "mve" and k.params.in_d > CH_IN_BLOCK_MVE:
            # Helium loops blocks of CH_IN_BLOCK_MVE channels outside the pixel loops: the next
            # block reads every window again after the first block's outputs were written
            return None
        return IM2COL  # DSP: one pixel's window as int16; Helium: 4 pixels of one channel block
    return _conv(k, target, function)  # Helium runs a one-input-channel depthwise as a convolution


def _pool(k: Lowered, target: Target, function: str) -> InPlace | None:
    function = function.replace("_s16", "_s8")  # the s16 kernels loop as their s8 twins
    if function == "arm_avgpool_s8":
        # DSP: a pixel's window summed into the int32 buffer, then written; scalar: channel by
        # channel; Helium: 16 channels of the window, then those 16 outputs
        return IM2COL if target.isa == "dsp" else CHANNEL_WINDOW
    if function == "arm_max_pool_s8":
        # the first tap is copied to the output pixel (arm_memcpy_s8) and the others compared into
        # it: the pixel's output is written before the rest of its window is read
        return WINDOW
    return None


BY_KERNEL = {
    "conv_2d": _conv, "conv_2d_s4": _conv, "conv_2d_s16": _conv,
    "depthwise_conv_2d": _depthwise, "depthwise_conv_2d_s4": _depthwise, "depthwise_conv_2d_s16": _depthwise,
    "average_pool_2d": _pool, "average_pool_2d_s16": _pool, "max_pool_2d": _pool, "max_pool_2d_s16": _pool,
    "fully_connected": lambda k, t, f: FC_ROWS, "fully_connected_s4": lambda k, t, f: FC_ROWS,
}


def by_function(k: Lowered, target: Target, function: str) -> InPlace | None:
    """The rule of CMSIS-NN's `function` running `k` on `target` (Kernel.inplace of this layer)."""
    choose = BY_KERNEL.get(k.kernel)
    return choose(k, target, function) if choose else None

