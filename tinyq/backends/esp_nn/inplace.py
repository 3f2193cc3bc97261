"""Which ESP-NN calls may write their output over the input they read.

Off the ESP32-S3 the calls end in the plain C kernels (*_ansi.c; *_opt.c when ESP-IDF builds
with CONFIG_NN_OPTIMIZED for another chip), whose loops are read here in the pinned release:

* esp_nn_conv_s8: out_y, out_x, out channel outermost, each output value computed from its
  window (the 1x1 _opt kernel: one input pixel per output pixel): the reference convolution's order;
* esp_nn_depthwise_conv_s8, esp_nn_avg_pool_s8, esp_nn_max_pool_s8: per pixel, channel c (4 at a
  time in _opt) of the window read just before output channel c;
* esp_nn_add/mul_elementwise_s8, esp_nn_relu6_s8 (the template moves the input into the output
  first): element by element; esp_nn_softmax_s8: a row's max and sum, then element by element;
* esp_nn_fully_connected_s8 / _per_ch_s8: one call per batch row, each output value reading the row.

The S3 SIMD kernels (assembly, with their own copies into scratch) get no rule: no S3 compiler or
emulator runs here, and a rule without a test that runs it is not one tinyq declares.
"""

from __future__ import annotations

from tinyq.ops.base import InPlace, Lowered, Target
from tinyq.ops.inplace import CHANNEL_WINDOW, ELEMENTWISE, ROWWISE, WINDOW, gemm_rows

FC_ROWS = gemm_rows(1, "esp_nn_fully_connected_s8 runs once per batch row, reading the row for every output value")


def plain_c(rule: InPlace):
    """`rule` for the plain C kernels, none for the S3's SIMD ones (Kernel.inplace)."""
    def choose(k: Lowered, target: Target, function: str) -> InPlace | None:
        return None if target.isa == "esp32s3" else rule
    return choose


CONV, CHANNELS, ELEMENTS, ROWS, FC = (plain_c(r) for r in (WINDOW, CHANNEL_WINDOW, ELEMENTWISE, ROWWISE, FC_ROWS))
