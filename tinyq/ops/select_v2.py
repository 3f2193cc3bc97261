"""SELECT_V2: output = condition ? x : y, the three broadcast together (int8, int16, float32 values).

TFLM's kernel (select.cc) copies the chosen values without touching their
quantization (the converter gives x, y and the output the same); its Prepare accepts
shapes that broadcast (or all one-element tensors, whatever their ranks) and walks
them like the binary ops, with a third operand (tinyq/ops/ndloops.py broadcast_nests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, C_SUFFIX, lowered
from tinyq.ops.common import io
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest, broadcast_nests, broadcast_shape

DTYPES = ("int8", "int16", "float32")  # TFLM's cases: pure copies, so float32 costs nothing


@dataclass(frozen=True)
class SelectV2Params:
    cond_x: LoopNest
    y: LoopNest
    sources: tuple[int, ...]
    suffix: str


def lower(graph: Graph, op: Operator) -> Lowered:
    (c, x, v, *_), (y,) = io(graph, op, 3)
    if c.dtype != "bool":
        raise unsupported(graph, op, f"condition is {c.dtype}; TFLM's SELECT_V2 takes a bool condition")
    if x.dtype not in DTYPES:
        raise unsupported(graph, op, f"values are {x.dtype}; TFLM's SELECT_V2 runs {', '.join(DTYPES)}")
    if v.dtype != x.dtype or y.dtype != x.dtype:
        raise unsupported(graph, op, f"x, y and output are {x.dtype}, {v.dtype}, {y.dtype}; TFLM needs one type")
    if all(math.prod(t.shape) == 1 for t in (c, x, v, y)):
        nests = broadcast_nests([(1,), (1,), (1,)], (1,))  # TFLM's mixed-rank scalars: one element
    else:
        shape = broadcast_shape(c.shape, x.shape)
        shape = None if shape is None else broadcast_shape(shape, v.shape)
        if shape is None:
            raise unsupported(graph, op, f"shapes {list(c.shape)}, {list(x.shape)} and {list(v.shape)} "
                                         "do not broadcast")
        if tuple(y.shape) != shape:
            raise unsupported(graph, op, f"output shape {list(y.shape)} is not the broadcast shape {list(shape)}")
        if len(shape) > MAX_BROADCAST_RANK:
            raise unsupported(graph, op, f"rank {len(shape)} is above TFLM's broadcast limit of "
                                         f"{MAX_BROADCAST_RANK}")
        if 0 in shape:
            raise unsupported(graph, op, "empty tensors are not supported")
        nests = broadcast_nests([c.shape, x.shape, v.shape], y.shape)
    return lowered(op, "select_v2", SelectV2Params, (c, x, v), y, cond_x=nests[0], y=nests[1],
                   suffix=C_SUFFIX[x.dtype])


SPECS = [OpSpec(name="select_v2", builtin="SELECT_V2", lower=lower,
                kernels=(reference_kernel("select_v2", inplace=ELEMENTWISE),),
                quant=QuantRule(1, inputs_as_output=True, activation_inputs=(1, 2), selects=True),  # TFLM copies the values
                doc=f"bool condition, int8/int16/float32 values (copied as TFLM does), all three broadcast up "
                    f"to rank {MAX_BROADCAST_RANK}, constant operands in flash")]
