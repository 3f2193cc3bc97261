"""fully_connected as esp_nn_fully_connected_s8 (one multiplier) or its per-channel twin."""

from __future__ import annotations

from tinyq.backends.common import per_tensor_requant, shift32
from tinyq.backends.esp_nn import too_large
from tinyq.backends.esp_nn.inplace import FC
from tinyq.ops.base import Kernel

KERNELS = [Kernel(
    name="fully_connected", template="esp_nn/fully_connected.c.j2",
    uses=lambda k, t: ("filter", "bias") if per_tensor_requant(k) else ("filter", "multiplier", "bias"),
    derived=lambda k, t: () if per_tensor_requant(k) else (shift32(k),),
    applies=lambda k, t: too_large(k.params.accum_depth, k.params.output_depth), inplace=FC,
    function=lambda k, t: "esp_nn_fully_connected_s8" if per_tensor_requant(k) else "esp_nn_fully_connected_per_ch_s8",
    doc="depths up to 65535")]
