"""Ops the quantizer handles that tinyq does not lower yet.

They are read, quantized and written back (TFLM runs the result), but `tinyq
generate` refuses them. Each moves to a module of its own when it gets a kernel.
"""

from __future__ import annotations

from tinyq.ops.base import OpSpec, QuantRule

_MOVES_DATA = QuantRule(2, output_as_input=True, activation_inputs=(0,))

SPECS = [
    OpSpec(name="transpose", builtin="TRANSPOSE", quant=_MOVES_DATA, doc="quantized, not lowered yet"),
    OpSpec(name="strided_slice", builtin="STRIDED_SLICE", quant=_MOVES_DATA, doc="quantized, not lowered yet"),
    OpSpec(name="resize_nearest_neighbor", builtin="RESIZE_NEAREST_NEIGHBOR", quant=_MOVES_DATA,
           doc="quantized, not lowered yet"),
]
