"""add, mul and relu6 as ESP-NN's elementwise kernels."""

from __future__ import annotations

from tinyq.backends.common import broadcast_reason
from tinyq.backends.esp_nn import too_large
from tinyq.backends.esp_nn.inplace import ELEMENTS
from tinyq.ops.base import Kernel, Lowered


def _relu6_reason(k: Lowered) -> str | None:
    p = k.params
    if (p.lower, p.upper) != (0, 6):
        return f"esp_nn_relu6_s8 clamps to [0, 6]; this RELU6 clamps to [{p.lower}, {p.upper}] (scale and zero point)"
    return too_large(p.size)


KERNELS = [
    Kernel(name="add", template="esp_nn/add.c.j2", applies=lambda k, t: broadcast_reason(k),
           function=lambda k, t: "esp_nn_add_elementwise_s8", inplace=ELEMENTS, doc="no broadcast"),
    Kernel(name="mul", template="esp_nn/mul.c.j2", applies=lambda k, t: broadcast_reason(k),
           function=lambda k, t: "esp_nn_mul_elementwise_s8", inplace=ELEMENTS, doc="no broadcast"),
    Kernel(name="relu6", template="esp_nn/relu6.c.j2", applies=lambda k, t: _relu6_reason(k),
           function=lambda k, t: "esp_nn_relu6_s8", inplace=ELEMENTS, doc="a clamp to [0, 6] in the int8 domain"),
]
