"""What the broadcasting binary op families share: the operand checks and the C element types.

MAXIMUM/MINIMUM, the comparisons, the logical ops, SQUARED_DIFFERENCE, DIV and PRELU
all run TFLM's BroadcastBinaryOpSimple (or an element-wise loop when the shapes are
equal): one walk of the output in memory order (tinyq/ops/ndloops.py, C side
tq_broadcast.h), differing only in the function applied per element. Their checks
are TFLM's Prepare checks, shared here; each family's module adds its arithmetic.
"""

from __future__ import annotations

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import Lowered, unsupported
from tinyq.ops.common import io
from tinyq.ops.ndloops import MAX_LOOPS, LoopNest, broadcast_loops, broadcast_shape
from tinyq.ops.operands import operand_sources

# TFLM's RuntimeShape holds 6 dimensions (kMaxSmallSize; its broadcast walk's own kMaxRank of 8 is
# never reached: a rank-8 MAXIMUM in the golden model gives wrong values, rank 7 works by chance).
MAX_BROADCAST_RANK = 6
assert MAX_BROADCAST_RANK <= MAX_LOOPS

# tinyq dtype -> the suffix of the C entry point that handles it (bool is one byte, as in TFLM)
C_SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "int64": "s64", "bool": "b8", "float32": "f32"}


def broadcast_operands(graph: Graph, op: Operator, dtypes: tuple[str, ...],
                       what: str = "operands") -> tuple[Tensor, Tensor, Tensor, LoopNest]:
    """(a, b, output, loop nest) of a two-operand broadcasting op whose operands share one of `dtypes`."""
    (a, b, *_), (y,) = io(graph, op, 2)
    if a.dtype not in dtypes:
        raise unsupported(graph, op, f"{what} are {a.dtype}; tinyq runs {op.op} on {', '.join(dtypes)}",
                          "the types TFLM's kernel takes")
    if b.dtype != a.dtype:
        raise unsupported(graph, op, f"operands are {a.dtype} and {b.dtype}; TFLM needs one type")
    # an operand quantized per channel is read at its first scale and zero point, as TFLM reads it
    return a, b, y, loop_nest(graph, op, a, b, y)


def loop_nest(graph: Graph, op: Operator, a: Tensor, b: Tensor, y: Tensor) -> LoopNest:
    """The output walk of a broadcast of a and b into y, after TFLM's shape checks."""
    shape = broadcast_shape(a.shape, b.shape)
    if shape is None:
        raise unsupported(graph, op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast")
    if tuple(y.shape) != shape:
        raise unsupported(graph, op, f"output shape {list(y.shape)} is not the broadcast shape {list(shape)}")
    if len(shape) > MAX_BROADCAST_RANK:
        raise unsupported(graph, op, f"rank {len(shape)} is above the {MAX_BROADCAST_RANK} dimensions TFLM's "
                                     "kernels hold (RuntimeShape)")
    if 0 in shape:
        raise unsupported(graph, op, "empty tensors are not supported")
    return broadcast_loops(a.shape, b.shape, y.shape)


def lowered(op: Operator, kernel: str, params_cls, operands: tuple[Tensor, ...], output: Tensor, **fields) -> Lowered:
    """The kernel call, each operand in the arena or in flash (`params_cls` has a `sources` field)."""
    sources, inputs, consts = operand_sources(operands)
    return Lowered(op=op, kernel=kernel, params=params_cls(sources=sources, **fields), inputs=inputs,
                   outputs=(output.index,), consts=consts)
