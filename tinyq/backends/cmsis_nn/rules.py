"""Which CMSIS-NN function runs an op, and how much scratch it needs, per target (the pinned release).

CMSIS-NN's wrappers (`arm_convolve_wrapper_s8`, `arm_depthwise_conv_wrapper_s8`)
pick a kernel at run time from the layer's shape; tinyq makes the same pick
offline and calls that kernel directly, so the choice shows in `tinyq inspect`
and the scratch buffer is sized for exactly the kernel that runs. The rules and
sizes below are the library's (Source/ConvolutionFunctions/*wrapper_s8.c and
*get_buffer_sizes_s8.c); they differ between its three code paths, so they are
computed for the build's target (`Target.isa`: "scalar", "dsp" or "mve"), never
for the host's. tests/test_backend_cmsis_nn.py checks every size against the
library's own `*_get_buffer_size{,_dsp,_mve}` functions.
"""

from __future__ import annotations

import dataclasses

from tinyq.ops.geometry import ConvWindow

# CH_IN_BLOCK_MVE in Include/arm_nnsupportfunctions.h: depthwise channels per Helium block
CH_IN_BLOCK_MVE = 124
# CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD: by compiler
DW_TO_CONV_THRESHOLD = {"gcc": 1, "armclang": 8}


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def _is_1x1_unpadded(s: ConvWindow) -> bool:
    return (s.pad_w == 0 and s.pad_h == 0 and s.filter_w == 1 and s.filter_h == 1
            and s.dilation_w == 1 and s.dilation_h == 1)


def _is_1_x_n(s: ConvWindow) -> bool:
    return s.in_h == 1 and s.dilation_w == 1 and s.filter_h == 1 and (s.stride_w * s.in_d) % 4 == 0


def wrapper_conv_function(s: ConvWindow) -> str:
    """arm_convolve_wrapper_s8's choice (grouped convolutions only run in arm_convolve_s8)."""
    grouped = s.in_d != s.filter_d
    if _is_1x1_unpadded(s) and not grouped:
        return "arm_convolve_1x1_s8_fast" if (s.stride_w, s.stride_h) == (1, 1) else "arm_convolve_1x1_s8"
    if _is_1_x_n(s) and not grouped:
        return "arm_convolve_1_x_n_s8"
    return "arm_convolve_s8"


def total_pad_w(s: ConvWindow) -> int:
    """The horizontal padding the windows span, negative when they leave input columns unread."""
    return (s.out_w - 1) * s.stride_w + s.filter_w - s.in_w


def conv_function(s: ConvWindow, isa: str) -> str:
    """The wrapper's choice, except where that kernel is wrong: the Helium 1xN kernel (v7.0.0, unchanged
    in the pinned main)
    treats a negative total padding (windows ending before the last input column) as
    right padding and corrupts the last outputs, so those rows run in arm_convolve_s8."""
    function = wrapper_conv_function(s)
    if function == "arm_convolve_1_x_n_s8" and isa == "mve" and total_pad_w(s) < 0:
        return "arm_convolve_s8"
    return function


def _convolve_s8_bytes(s: ConvWindow, isa: str) -> int:
    cols = s.in_d * s.filter_w * s.filter_h
    if isa == "mve":
        return 4 * _align(cols, 16)  # four im2col rows of whole 16-lane vectors
    return 2 * _align(cols, 4) * 2  # two int16 im2col columns


def _convolve_1_x_n_mve_bytes(s: ConvWindow) -> int:
    total_pad = total_pad_w(s)
    asym_pad = total_pad % 2
    right = max(1, (s.pad_w + asym_pad + s.stride_w - 1) // s.stride_w) if s.pad_w + asym_pad else 0
    left = max(1, (s.pad_w + s.stride_w - 1) // s.stride_w) if s.pad_w else 0
    middle = max(s.out_w - (right + left), 0)
    if right + middle + left != s.out_w:
        return _convolve_s8_bytes(s, "mve")
    pad_left = s.pad_w * s.in_d
    pad_right = right * s.in_d if asym_pad else pad_left
    elems_left = s.filter_w * s.in_d
    elems_right = elems_left - s.in_d
    return max(elems_left + pad_left, elems_right + pad_right)


def conv_scratch_bytes(s: ConvWindow, isa: str, compiler: str = "gcc") -> int:
    """The scratch of conv_function(s, isa) on `isa` (its *_get_buffer_size)."""
    function = conv_function(s, isa)
    if function == "arm_convolve_1x1_s8_fast":
        # only armclang builds of the DSP path buffer the 1x1 kernel
        return 2 * s.in_d * 2 if isa == "dsp" and compiler == "armclang" else 0
    if function == "arm_convolve_1x1_s8":
        return 0
    if function == "arm_convolve_1_x_n_s8" and isa == "mve":
        return _convolve_1_x_n_mve_bytes(s)
    return _convolve_s8_bytes(s, isa)


def depthwise_as_conv(s: ConvWindow, isa: str, compiler: str = "gcc") -> bool:
    """On Helium the wrapper runs a one-input-channel depthwise as a convolution."""
    return isa == "mve" and s.in_d == 1 and s.out_d > DW_TO_CONV_THRESHOLD[compiler]


def depthwise_conv_shape(s: ConvWindow) -> ConvWindow:
    """The convolution a one-input-channel depthwise is: filter [C_OUT, H, W, 1]."""
    return dataclasses.replace(s, filter_d=1)


def depthwise_function(s: ConvWindow, isa: str, compiler: str = "gcc") -> str:
    """arm_depthwise_conv_wrapper_s8's choice; `s.out_d // s.in_d` is the depth multiplier."""
    if depthwise_as_conv(s, isa, compiler):
        return conv_function(depthwise_conv_shape(s), isa)
    if s.in_d == s.out_d and s.batches == 1 and (s.dilation_w, s.dilation_h) == (1, 1):
        if isa != "mve" and (s.filter_w, s.filter_h) == (3, 3) and s.pad_h <= 1 and s.pad_w <= 1:
            return "arm_depthwise_conv_3x3_s8"
        return "arm_depthwise_conv_s8_opt"
    return "arm_depthwise_conv_s8"


def depthwise_scratch_bytes(s: ConvWindow, isa: str, compiler: str = "gcc") -> int:
    if depthwise_as_conv(s, isa, compiler):
        # the filter is transposed offline, so only the convolution's own buffer remains
        return conv_scratch_bytes(depthwise_conv_shape(s), isa, compiler)
    if depthwise_function(s, isa, compiler) != "arm_depthwise_conv_s8_opt":
        return 0
    if isa == "mve":
        return 4 * CH_IN_BLOCK_MVE * s.filter_w * s.filter_h
    if isa == "dsp":
        return s.in_d * s.filter_w * s.filter_h * 2
    return 0


def avgpool_scratch_bytes(channels: int, isa: str) -> int:
    return channels * 4 if isa == "dsp" else 0


def fully_connected_sums_needed(isa: str) -> bool:
    """On Helium arm_fully_connected_s8 adds precomputed per-row weight sums (its
    arm_fully_connected_s8_get_buffer_size is out_d * 4); tinyq computes them offline
    into flash instead of a scratch buffer."""
    return isa == "mve"
