"""maximum and minimum (int8) as arm_maximum_s8 / arm_minimum_s8, broadcasts of up to 4 loops.

TFLM's CMSIS-NN glue (kernels/cmsis_nn/maximum_minimum.cc) calls them for every int8
MAXIMUM/MINIMUM with each shape extended to 4-D. The functions (v7.0.0, unchanged in the
pinned main) walk a broadcast row by row and lose their place when one operand is a single value per row against
whole rows of the other (input (1,2,1,1) against (1,2,3,4): the second row reads past
the first operand), so tinyq gives them the fused loop nest instead (neighbouring
dimensions that broadcast alike merged into one), where that pattern cannot occur:
tests/test_maximum_minimum.py checks both against the library.
"""

from __future__ import annotations

from tinyq.ops.base import Kernel, Lowered, Target
from tinyq.ops.inplace import ELEMENTWISE

FUNCTIONS = {"maximum": "arm_maximum_s8", "minimum": "arm_minimum_s8"}


def _applies(k: Lowered, target: Target) -> str | None:
    if k.params.suffix != "s8":
        return f"{FUNCTIONS[k.op.op]} is int8 only"
    if k.params.fused_shapes(4) is None:
        return f"the broadcast needs {k.params.loops.rank} loops; {FUNCTIONS[k.op.op]} walks 4 dimensions"
    return None


# Both walk the output once, reading each operand element just before writing the output element at
# the same place (Source/BasicMathFunctions/arm_{maximum,minimum}_s8.c; Helium: 16 lanes loaded, then
# stored): element-wise in place.
KERNELS = [Kernel(name="maximum_minimum", template="cmsis_nn/maximum_minimum.c.j2", applies=_applies,
                  function=lambda k, t: FUNCTIONS[k.op.op], inplace=ELEMENTWISE,
                  doc="int8, broadcasts of up to 4 fused loops")]
