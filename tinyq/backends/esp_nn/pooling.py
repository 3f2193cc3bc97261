"""average_pool_2d and max_pool_2d as esp_nn_avg_pool_s8 / esp_nn_max_pool_s8."""

from __future__ import annotations

from tinyq.backends.esp_nn import too_large
from tinyq.backends.esp_nn.inplace import CHANNELS
from tinyq.ops.base import Kernel, Lowered


def _reason(k: Lowered, target) -> str | None:
    p = k.params
    return too_large(p.in_h, p.in_w, p.out_h, p.out_w, p.depth, p.filter_h, p.filter_w, p.pad_h, p.pad_w)


KERNELS = [
    Kernel(name="average_pool_2d", template="esp_nn/average_pool_2d.c.j2", applies=_reason,
           function=lambda k, t: "esp_nn_avg_pool_s8", inplace=CHANNELS, doc="extents up to 65535"),
    Kernel(name="max_pool_2d", template="esp_nn/max_pool_2d.c.j2", applies=_reason,
           function=lambda k, t: "esp_nn_max_pool_s8", inplace=CHANNELS, doc="extents up to 65535"),
]
