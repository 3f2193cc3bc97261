"""Ops the quantizer handles that tinyq does not lower yet.

They are read, quantized and written back (TFLM runs the result), but `tinyq
generate` refuses them. Each moves to a module of its own when it gets a kernel.
"""

from __future__ import annotations

from tinyq.ops.base import OpSpec, QuantRule

_MOVES_DATA = QuantRule(2, output_as_input=True, activation_inputs=(0,))

SPECS = [
]
