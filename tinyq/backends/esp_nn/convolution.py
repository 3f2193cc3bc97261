"""conv_2d and depthwise_conv_2d as esp_nn_conv_s8 / esp_nn_depthwise_conv_s8 (one image a call)."""

from __future__ import annotations

from tinyq.backends.common import shift32
from tinyq.backends.esp_nn import too_large
from tinyq.backends.esp_nn.inplace import CHANNELS, CONV
from tinyq.backends.esp_nn.scratch import conv_scratch_s3, depthwise_scratch_s3
from tinyq.ops.base import Kernel, Lowered


def _window_reason(k: Lowered, out_d: int) -> str | None:
    p = k.params
    if (p.dilation_h, p.dilation_w) != (1, 1):
        return f"esp-nn {k.kernel} ignores dilation ({p.dilation_h}x{p.dilation_w})"
    return too_large(p.in_h, p.in_w, p.in_d, p.out_h, p.out_w, out_d, p.pad_h, p.pad_w)


def _conv_reason(k: Lowered) -> str | None:
    if k.params.filter_d != k.params.in_d:
        return "esp-nn conv has no groups"
    return _window_reason(k, k.params.out_d)


KERNELS = [
    Kernel(name="conv_2d", template="esp_nn/conv_2d.c.j2", uses=("filter", "multiplier", "bias"),
           derived=lambda k, t: (shift32(k),), applies=lambda k, t: _conv_reason(k),
           function=lambda k, t: "esp_nn_conv_s8",
           scratch=lambda k, t: conv_scratch_s3(k.params) if t.isa == "esp32s3" else 0, inplace=CONV,
           doc="no dilation, no groups; extents up to 65535"),
    Kernel(name="depthwise_conv_2d", template="esp_nn/depthwise_conv_2d.c.j2", uses=("filter", "multiplier", "bias"),
           derived=lambda k, t: (shift32(k),), applies=lambda k, t: _window_reason(k, k.params.out_d),
           function=lambda k, t: "esp_nn_depthwise_conv_s8",
           scratch=lambda k, t: depthwise_scratch_s3(k.params) if t.isa == "esp32s3" else 0, inplace=CHANNELS,
           doc="no dilation; extents up to 65535"),
]
