"""ESP-NN's scratch sizes (v1.2.0 esp_nn_get_*_scratch_size), for an esp32s3 target."""

from __future__ import annotations

from tinyq.ops.base import Lowered


def conv_scratch_s3(p) -> int:
    """esp_nn_get_conv_scratch_size_esp32s3 (v1.2.0)."""
    in_ch, out_ch = p.in_d, p.out_d
    if (p.filter_w, p.filter_h, p.pad_w, p.pad_h, p.stride_w, p.stride_h) == (1, 1, 0, 0, 1, 1):
        channels8 = (in_ch + 7) & ~7
        transpose = 0 if p.in_w * p.in_h < 8 else 2 * 8 * channels8
        input_scratch = p.in_w * p.in_h * channels8 if in_ch % 8 else 0
        return input_scratch + channels8 * out_ch + transpose + 32
    channels16 = (in_ch + 15) & ~15
    input_scratch = 0 if p.pad_w == 0 and p.pad_h == 0 else (p.in_w + 2 * p.pad_w) * (p.in_h + 2 * p.pad_h) * in_ch
    return input_scratch + p.filter_w * p.filter_h * channels16 * out_ch + 32 + out_ch * 4


def depthwise_scratch_s3(p) -> int:
    """esp_nn_get_depthwise_conv_scratch_size_esp32s3 (v1.2.0)."""
    ch, mult = p.in_d, p.depth_multiplier
    filter_size = p.filter_w * p.filter_h * ch * mult
    input_size = p.in_w * p.in_h * ch
    if mult == 1 and ch % 8 == 0 and (p.filter_w, p.filter_h) == (3, 3):
        if ch % 16:
            return 2 * (filter_size + input_size) + 32
        if p.pad_w or p.pad_h:
            pad_width, pad_height = 2 * p.pad_w, 2 * p.pad_h
        else:  # it pads when the windows overhang the input
            pad_width = p.out_w * p.stride_w + p.filter_w - 1 - p.in_w
            pad_height = p.out_h * p.stride_h + p.filter_h - 1 - p.in_h
        if pad_width or pad_height:
            return filter_size + (p.in_w + pad_width) * (p.in_h + pad_height) * ch + 16
        return filter_size + 16
    if mult % 4 == 0:
        return 2 * (filter_size + input_size) + 32
    return 32


def softmax_scratch(k: Lowered) -> int:
    """esp_nn_get_softmax_scratch_size_opt (width * 4; the plain C one needs none)."""
    return k.params.depth * 4
