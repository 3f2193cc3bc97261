"""IR graph -> kernel calls: each op's description computes its parameters offline."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import ops
from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Operator, describe_op
from tinyq.ops.base import Lowered
from tinyq.passes.signal_state import add_state_tensors


MAX_IO_RANK = 6  # tinyq_io_t.dims in templates/model.h.j2


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
    from tinyq.codegen.generate import DTYPE_CODES  # the element types the generated API describes

    for t in graph.inputs + graph.outputs:
        if graph.tensors[t].is_const:
            raise UnsupportedError(f"graph input/output tensor {t} is a constant", where="graph",
                                   hint="a model's inputs and outputs are computed at run time")
        if graph.tensors[t].dtype not in DTYPE_CODES:
            raise UnsupportedError(f"graph input/output tensor {t} is {graph.tensors[t].dtype}", where="graph",
                                   hint="the generated C takes and returns " + ", ".join(DTYPE_CODES))
        if len(graph.tensors[t].shape) > MAX_IO_RANK:
            raise UnsupportedError(f"graph input/output tensor {t} has rank {len(graph.tensors[t].shape)}",
                                   where="graph", hint=f"tinyq_io_t describes up to {MAX_IO_RANK} dimensions")
    graph = add_state_tensors(graph)  # signal ops keep state TFLM holds inside its kernels
    return LoweredGraph(graph=graph, ops=tuple(lower_op(graph, op) for op in graph.operators))


def support_report(graph: Graph) -> list[tuple[Operator, str | None]]:
    """(op, None) when tinyq can lower the op, else (op, the reason it cannot)."""
    result = []
    graph = add_state_tensors(graph)
    for op in graph.operators:
        try:
            lower_op(graph, op)
            result.append((op, None))
        except UnsupportedError as exc:
            result.append((op, exc.what + (f" ({exc.hint})" if exc.hint and "tinyq lowers" not in exc.hint else "")))
    return result
