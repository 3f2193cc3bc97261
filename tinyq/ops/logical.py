"""LOGICAL_AND, LOGICAL_OR (bool, any TFLite broadcast) and LOGICAL_NOT (bool).

TFLM stores a bool in one byte and its logical kernels (logical_common.cc,
elementwise.cc) apply && / || / ! per element; AND and OR walk a broadcast like
the other binary ops (one kernel for both), NOT needs its input's shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, broadcast_operands, lowered
from tinyq.ops.common import io
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest


@dataclass(frozen=True)
class LogicalParams:
    loops: LoopNest
    sources: tuple[int, ...]


@dataclass(frozen=True)
class LogicalNotParams:
    count: int
    sources: tuple[int, ...]


def _require_bool_output(graph: Graph, op: Operator, y) -> None:
    if y.dtype != "bool":
        raise unsupported(graph, op, f"output is {y.dtype}; TFLM's logical ops write bool")


def lower_binary(graph: Graph, op: Operator) -> Lowered:
    a, b, y, loops = broadcast_operands(graph, op, ("bool",))
    _require_bool_output(graph, op, y)
    return lowered(op, "logical", LogicalParams, (a, b), y, loops=loops)


def lower_not(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if x.dtype != "bool":
        raise unsupported(graph, op, f"input is {x.dtype}; TFLM's LOGICAL_NOT takes bool only")
    _require_bool_output(graph, op, y)
    if tuple(x.shape) != tuple(y.shape):
        raise unsupported(graph, op, f"output shape {list(y.shape)} is not the input's {list(x.shape)}")
    return lowered(op, "logical_not", LogicalNotParams, (x,), y, count=x.numel)


BINARY = reference_kernel("logical", inplace=ELEMENTWISE)
_DOC = f"bool, broadcast up to rank {MAX_BROADCAST_RANK}, constant operands in flash"

SPECS = [
    OpSpec(name="logical_and", builtin="LOGICAL_AND", lower=lower_binary, kernels=(BINARY,), doc=_DOC),
    OpSpec(name="logical_or", builtin="LOGICAL_OR", lower=lower_binary, kernels=(BINARY,), doc=_DOC),
    OpSpec(name="logical_not", builtin="LOGICAL_NOT", lower=lower_not,
           kernels=(reference_kernel("logical_not", inplace=ELEMENTWISE),), doc="bool"),
]
