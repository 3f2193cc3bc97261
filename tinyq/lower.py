"""IR graph -> kernel calls: each op's description computes its parameters offline."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import ops
from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Operator, describe_op
from tinyq.ops.base import Lowered


@dataclass(frozen=True, eq=False)
class LoweredGraph:
    graph: Graph
    ops: tuple[Lowered, ...]


def lower_op(graph: Graph, op: Operator) -> Lowered:
    spec = ops.by_name(op.op)
    if spec is None or spec.lower is None:
        supported = ", ".join(s.name for s in ops.all_specs())
        raise UnsupportedError(f"op {op.op} is not supported", where=describe_op(graph, op),
                               hint=f"tinyq lowers: {supported}")
    return spec.lower(graph, op)


def lower_graph(graph: Graph) -> LoweredGraph:
    """Lower every op; the first one that cannot be lowered raises UnsupportedError."""
    for t in graph.inputs + graph.outputs:
        if graph.tensors[t].is_const:
            raise UnsupportedError(f"graph input/output tensor {t} is a constant", where="graph")
    return LoweredGraph(graph=graph, ops=tuple(lower_op(graph, op) for op in graph.operators))


def support_report(graph: Graph) -> list[tuple[Operator, str | None]]:
    """(op, None) when tinyq can lower the op, else (op, the reason it cannot)."""
    result = []
    for op in graph.operators:
        try:
            lower_op(graph, op)
            result.append((op, None))
        except UnsupportedError as exc:
            result.append((op, exc.what + (f" ({exc.hint})" if exc.hint and "tinyq lowers" not in exc.hint else "")))
    return result
