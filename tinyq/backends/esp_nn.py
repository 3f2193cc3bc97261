"""ESP-NN backend: Espressif's s8 kernels (ESP32-S3 SIMD; plain or generic C elsewhere).

The calls take the parameters tinyq's lowering computed (the same numbers TFLM
passes); ESP-NN differs from CMSIS-NN in argument order, in `quant_data_t`
({shift, mult}), in taking one image per call (tinyq loops over batches), in
ignoring dilation and groups (those convolutions fall back), and in keeping its
scratch buffers in globals set before each call. Scratch sizes follow
esp_nn_get_*_scratch_size of v1.2.0: the S3 functions for an esp32s3 target,
else the larger of the plain and generic ones, so either build fits.
"""

from __future__ import annotations

import numpy as np

from tinyq.backends import HOST, Backend, KernelOverride, Target, register
from tinyq.backends.cmsis_nn import elementwise_reason, fc_per_tensor
from tinyq.build.libraries import LIBRARIES
from tinyq.ops.base import ConstArray, Lowered

NAME = "esp-nn"
LIBRARY = LIBRARIES[NAME]
MAX_EXTENT = 65535  # ESP-NN holds extents, channels and sizes in uint16_t


def _shift32(k: Lowered) -> tuple[ConstArray, ...]:
    shift = next(np.asarray(c.values) for c in k.consts if c.name == "shift")
    return (ConstArray("shift32", "int32_t", shift.astype(np.int32)),)


def _too_large(*extents: int) -> str | None:
    if max(extents) > MAX_EXTENT:
        return f"an extent of {max(extents)} exceeds the {MAX_EXTENT} ESP-NN holds in uint16_t"
    return None


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


def _window_reason(k: Lowered, out_d: int) -> str | None:
    p = k.params
    if (p.dilation_h, p.dilation_w) != (1, 1):
        return f"esp-nn {k.kernel} ignores dilation ({p.dilation_h}x{p.dilation_w})"
    return _too_large(p.in_h, p.in_w, p.in_d, p.out_h, p.out_w, out_d, p.pad_h, p.pad_w)


def _conv_reason(k: Lowered) -> str | None:
    if k.params.filter_d != k.params.in_d:
        return "esp-nn conv has no groups"
    return _window_reason(k, k.params.out_d)


def _conv(target: Target) -> KernelOverride:
    s3 = target.isa == "esp32s3"
    return KernelOverride(applies=_conv_reason, consts=_shift32, function=lambda k: "esp_nn_conv_s8",
                          scratch_bytes=lambda k: conv_scratch_s3(k.params) if s3 else 0)


def _depthwise(target: Target) -> KernelOverride:
    s3 = target.isa == "esp32s3"
    return KernelOverride(
        applies=lambda k: _window_reason(k, k.params.in_d * k.params.depth_multiplier), consts=_shift32,
        function=lambda k: "esp_nn_depthwise_conv_s8",
        scratch_bytes=lambda k: depthwise_scratch_s3(k.params) if s3 else 0)


def _fully_connected() -> KernelOverride:
    return KernelOverride(
        applies=lambda k: _too_large(k.params.accum_depth, k.params.output_depth),
        consts=lambda k: () if fc_per_tensor(k) else _shift32(k),
        function=lambda k: "esp_nn_fully_connected_s8" if fc_per_tensor(k) else "esp_nn_fully_connected_per_ch_s8")


def _pool(function: str) -> KernelOverride:
    def reason(k: Lowered) -> str | None:
        p = k.params
        return _too_large(p.in_h, p.in_w, p.out_h, p.out_w, p.depth, p.filter_h, p.filter_w, p.pad_h, p.pad_w)
    return KernelOverride(applies=reason, function=lambda k: function)


def _relu6_reason(k: Lowered) -> str | None:
    p = k.params
    if (p.lower, p.upper) != (0, 6):
        return f"esp_nn_relu6_s8 clamps to [0, 6]; this RELU6 clamps to [{p.lower}, {p.upper}] (scale and zero point)"
    return _too_large(p.size)


def _softmax_reason(k: Lowered) -> str | None:
    return None if k.params.output_bits == 8 else "esp-nn softmax writes int8 only"


def overrides(target: Target) -> dict[str, KernelOverride]:
    return {
        "conv_2d": _conv(target),
        "depthwise_conv_2d": _depthwise(target),
        "fully_connected": _fully_connected(),
        "average_pool_2d": _pool("esp_nn_avg_pool_s8"),
        "max_pool_2d": _pool("esp_nn_max_pool_s8"),
        "add": KernelOverride(applies=elementwise_reason, function=lambda k: "esp_nn_add_elementwise_s8"),
        "mul": KernelOverride(applies=elementwise_reason, function=lambda k: "esp_nn_mul_elementwise_s8"),
        "softmax": KernelOverride(applies=_softmax_reason, scratch_bytes=softmax_scratch,
                                  function=lambda k: "esp_nn_softmax_s8"),
        "relu6": KernelOverride(applies=_relu6_reason, function=lambda k: "esp_nn_relu6_s8"),
        **{kernel: _NO_INT4 for kernel in ("conv_2d_s4", "depthwise_conv_2d_s4", "fully_connected_s4")},
    }


# ESP-NN has no int4 kernels: such ops always run tinyq's reference s4 kernel, and say why
_NO_INT4 = KernelOverride(applies=lambda k: "int4 weights: ESP-NN has no int4 kernels (tinyq's reference kernel "
                                            "reads them packed)")


ESP_NN = Backend(name=NAME, template_dirs=("esp_nn",), overrides=overrides(HOST), target=HOST,
                 retarget=overrides, library=NAME,
                 project_context={"esp_nn_version": LIBRARY.version, "esp_nn_repository": LIBRARY.repository,
                                   "esp_nn_component": "^1.2.3"},
                 doc=f"Espressif ESP-NN {LIBRARY.version} s8 kernels (S3 SIMD on esp32s3, plain C elsewhere)")

register(ESP_NN)
