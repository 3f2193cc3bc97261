"""ESP-NN's scratch sizes (1.2.3 esp_nn_get_*_scratch_size), for an esp32s3 target.

Ports of esp_nn_get_conv_scratch_size_esp32s3 (src/convolution/esp_nn_conv_esp32s3.c) and
esp_nn_get_depthwise_conv_scratch_size_esp32s3 (esp_nn_depthwise_conv_s8_esp32s3.c), branch
for branch; tests/test_backend_esp_nn.py compares them with the library's over random shapes.
"""

from __future__ import annotations

from tinyq.ops.base import Lowered

ALIGN_BUF = 64  # "alignment (16) + assembly pre/post access margin (48)"


def _round_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def conv_scratch_s3(p) -> int:
    """esp_nn_get_conv_scratch_size_esp32s3 (1.2.3)."""
    in_ch, out_ch = p.in_d, p.out_d
    if (p.filter_w, p.filter_h, p.pad_w, p.pad_h, p.stride_w, p.stride_h) == (1, 1, 0, 0, 1, 1):
        channels8 = _round_up(in_ch, 8)
        transpose = 0 if p.in_w * p.in_h < 8 else 2 * 8 * channels8
        input_scratch = p.in_w * p.in_h * channels8 if in_ch % 8 else 0
        return input_scratch + channels8 * out_ch + transpose + ALIGN_BUF
    row = p.filter_w * in_ch
    window = p.filter_h * row
    if row < 16 <= window:  # the im2col path: filter sums, an aligned filter copy, one window
        aligned = _round_up(window, 16)
        return out_ch * 4 + 16 + out_ch * aligned + 16 + aligned + ALIGN_BUF
    padded_input = 0 if p.pad_w == 0 and p.pad_h == 0 else (p.in_w + 2 * p.pad_w) * (p.in_h + 2 * p.pad_h) * in_ch
    filter_copy = p.filter_w * p.filter_h * _round_up(in_ch, 16) * out_ch
    filter_alignment = _round_up(row, 16) * p.filter_h * out_ch
    pad_right = max(0, p.out_w * p.stride_w + p.filter_w - 1 - p.in_w)
    pad_bottom = max(0, p.out_h * p.stride_h + p.filter_h - 1 - p.in_h)
    boundary = (p.in_w + pad_right) * (p.in_h + pad_bottom) * in_ch if pad_right or pad_bottom else 0
    return padded_input + filter_copy + filter_alignment + boundary + ALIGN_BUF + out_ch * 4


def _depthwise_mult1_3x3(p, filter_size: int) -> int:
    """The 3x3 multiplier-1 paths for channels a multiple of 8."""
    ch = p.in_d
    if ch % 16 == 0:
        if p.pad_w or p.pad_h:
            pad_width, pad_height = 2 * p.pad_w, 2 * p.pad_h
        else:  # it pads when the windows overhang the input (negative when they fall short: as the C does)
            pad_width = p.out_w * p.stride_w + p.filter_w - 1 - p.in_w
            pad_height = p.out_h * p.stride_h + p.filter_h - 1 - p.in_h
        if not (pad_width or pad_height):
            return filter_size + 16
        full_input = (p.in_w + pad_width) * (p.in_h + pad_height) * ch
        if full_input <= 40 * 1024:
            return filter_size + full_input + 16
        return filter_size + (p.in_w + pad_width) * p.filter_h * ch + 16  # a strip of filter_h rows
    if ch >= 12:  # channels padded to 16, the s8 path, then compacted from an output buffer
        new_ch = _round_up(ch, 16)
        total_pad_w = 2 * p.pad_w + max(0, p.out_w * p.stride_w + 2 - p.in_w)
        total_pad_h = 2 * p.pad_h + max(0, p.out_h * p.stride_h + 2 - p.in_h)
        return 9 * new_ch + (p.in_w + total_pad_w) * (p.in_h + total_pad_h) * new_ch + p.out_w * p.out_h * new_ch + 64
    return 2 * (filter_size + p.in_w * p.in_h * ch) + 32


def depthwise_scratch_s3(p) -> int:
    """esp_nn_get_depthwise_conv_scratch_size_esp32s3 (1.2.3)."""
    ch, mult = p.in_d, p.depth_multiplier
    filter_size = p.filter_w * p.filter_h * ch * mult
    input_size = p.in_w * p.in_h * ch
    if mult == 1 and ch % 8 == 0:
        if (p.filter_w, p.filter_h) == (3, 3):
            return _depthwise_mult1_3x3(p, filter_size)
        total_s16 = 2 * (filter_size + input_size)
        if total_s16 <= 48 * 1024:
            return total_s16 + 32
        return 2 * filter_size + 2 * p.in_w * p.filter_h * ch + 32  # a tile of filter_h rows
    if mult == 1 and ch > 3:  # channels padded to 8: int16 filter and input, an output, then per-channel columns
        padded = _round_up(ch, 8)
        input_start = _round_up(p.filter_w * p.filter_h * padded * 2, 16)
        out_start = _round_up(input_start + p.in_w * p.in_h * padded * 2, 16)
        bias_start = _round_up(out_start + p.out_w * p.out_h * padded, 16)
        return bias_start + 3 * padded * 4 + 16
    if mult % 4 == 0:
        return 2 * (filter_size + input_size) + 32
    return 32


def softmax_scratch(k: Lowered) -> int:
    """esp_nn_get_softmax_scratch_size_opt (width * 4; the plain C one needs none)."""
    return k.params.depth * 4
