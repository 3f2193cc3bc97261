"""softmax as esp_nn_softmax_s8 (int8 output only)."""

from __future__ import annotations

from tinyq.backends.esp_nn.inplace import ROWS
from tinyq.backends.esp_nn.scratch import softmax_scratch
from tinyq.ops.base import Kernel

KERNELS = [Kernel(name="softmax", template="esp_nn/softmax.c.j2",
                  applies=lambda k, t: None if k.params.output_bits == 8 else "esp-nn softmax writes int8 only",
                  function=lambda k, t: "esp_nn_softmax_s8", scratch=lambda k, t: softmax_scratch(k), inplace=ROWS,
                  doc="int8 output")]
