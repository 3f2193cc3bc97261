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


def _far_pads(p) -> tuple[int, int]:
    """The bottom and right padding a SAME window needs beyond pad_h / pad_w (TFLite passes only those two)."""
    bottom = max(0, (p.out_h - 1) * p.stride_h + (p.filter_h - 1) * p.dilation_h + 1 - p.in_h - p.pad_h)
    right = max(0, (p.out_w - 1) * p.stride_w + (p.filter_w - 1) * p.dilation_w + 1 - p.in_w - p.pad_w)
    return bottom, right


# Known wrong results of the pinned ESP-NN 1.2.3's ESP32-S3 kernels, fixed upstream after it: those
# calls run the next kernel of the chain (the reference), which TFLM matches.
def _s3_conv_defect(k: Lowered) -> str | None:
    p = k.params
    bottom, right = _far_pads(p)
    if (p.pad_h or p.pad_w) and (bottom > p.pad_h or right > p.pad_w):
        return ("esp-nn 1.2.3's ESP32-S3 conv pads SAME windows symmetrically: wrong last row/column when the "
                "bottom/right padding is the larger (esp-nn#31)")
    return None


def _s3_depthwise_defect(k: Lowered) -> str | None:
    p = k.params
    if (p.filter_h, p.filter_w, p.depth_multiplier) == (3, 3, 1) and p.in_d % 16 == 0 and \
            (p.pad_w, p.pad_h) not in ((0, 0), (1, 1)):
        return ("esp-nn 1.2.3's ESP32-S3 3x3 depthwise conv writes more scratch than its size function gives "
                "when the leading padding is neither (0, 0) nor (1, 1) (esp-nn#30)")
    return None


def _conv_reason(k: Lowered, t) -> str | None:
    if k.params.filter_d != k.params.in_d:
        return "esp-nn conv has no groups"
    return _window_reason(k, k.params.out_d) or (_s3_conv_defect(k) if t.isa == "esp32s3" else None)


def _depthwise_reason(k: Lowered, t) -> str | None:
    return _window_reason(k, k.params.out_d) or (_s3_depthwise_defect(k) if t.isa == "esp32s3" else None)


KERNELS = [
    Kernel(name="conv_2d", template="esp_nn/conv_2d.c.j2", uses=("filter", "multiplier", "bias"),
           derived=lambda k, t: (shift32(k),), applies=_conv_reason,
           function=lambda k, t: "esp_nn_conv_s8",
           scratch=lambda k, t: conv_scratch_s3(k.params) if t.isa == "esp32s3" else 0, inplace=CONV,
           doc="no dilation, no groups; extents up to 65535; on ESP32-S3 not with more SAME padding bottom/right"),
    Kernel(name="depthwise_conv_2d", template="esp_nn/depthwise_conv_2d.c.j2", uses=("filter", "multiplier", "bias"),
           derived=lambda k, t: (shift32(k),), applies=_depthwise_reason,
           function=lambda k, t: "esp_nn_depthwise_conv_s8",
           scratch=lambda k, t: depthwise_scratch_s3(k.params) if t.isa == "esp32s3" else 0, inplace=CHANNELS,
           doc="no dilation; extents up to 65535; on ESP32-S3 not 3x3 x16 channels with padding (1, 0) or (0, 1)"),
]
