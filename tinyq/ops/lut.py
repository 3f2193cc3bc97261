"""The kernel of table-driven int8 unary ops: output[i] = table[uint8(input[i])].

Where TFLM's int8 arithmetic for an element depends on that element alone (ABS, RSQRT,
ELU; LiteRT's GELU), its result for each of the 256 int8 inputs is computed here, offline,
with TFLM's own arithmetic, into one table in flash (entry uint8(input), TFLM's order).
One kernel then runs them all: one load per element, in place. The modules of those ops
build their tables and lower through `lut_lowered`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, Lowered, reference_kernel, unsupported
from tinyq.ops.common import io, require_int8
from tinyq.ops.inplace import ELEMENTWISE

LUT = reference_kernel("lut", uses=("table",), inplace=ELEMENTWISE)


@dataclass(frozen=True)
class LutParams:
    size: int


def unary_int8(graph: Graph, op: Operator) -> tuple[Tensor, Tensor]:
    """The input and output of an element-wise int8 op, after TFLM's checks (one input, one output,
    same type, the same number of elements)."""
    (x, *_), (y,) = io(graph, op, 1)
    require_int8(graph, op, x, what="input")
    require_int8(graph, op, y, what="output")
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size")
    return x, y


def lut_lowered(op: Operator, x: Tensor, y: Tensor, table: np.ndarray) -> Lowered:
    """The op as a table lookup; `table` has 256 int8 entries in TFLM's order (qmath.lut_order)."""
    table = np.asarray(table, dtype=np.int8)
    assert table.shape == (256,), table.shape
    return Lowered(op=op, kernel="lut", params=LutParams(size=x.numel), inputs=(x.index,), outputs=(y.index,),
                   consts=(ConstArray("table", "int8_t", table),))
