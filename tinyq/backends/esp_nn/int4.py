"""ESP-NN has no int4 kernels: such layers run tinyq's reference s4 kernels, and say why."""

from __future__ import annotations

from tinyq.ops.base import Kernel

_WHY = "int4 weights: ESP-NN has no int4 kernels (tinyq's reference kernel reads them packed)"

KERNELS = [Kernel(name=name, template="", applies=lambda k, t: _WHY, doc="never: " + _WHY)
           for name in ("conv_2d_s4", "depthwise_conv_2d_s4", "fully_connected_s4")]
