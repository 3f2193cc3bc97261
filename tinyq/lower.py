"""IR graph -> kernel calls: each op's description computes its parameters offline.

A model with several subgraphs (control flow: WHILE, IF, CALL_ONCE) is lowered subgraph by
subgraph; the main graph's LoweredGraph holds the others' (`subgraphs`). Their state lives in
the main graph's tensors (passes/subgraph_state.py: `shared_state` links each subgraph's
variable tensors to them), and an op running a subgraph lists among its inputs the main-graph
state its callees (and theirs) read or update, so the planner keeps it, and orders it, as state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tinyq import ops
from tinyq.errors import UnsupportedError
from tinyq.ir import DTYPES, Graph, Operator, describe_op
from tinyq.ops.base import ConstArray, Lowered
from tinyq.ops.shape import CopyParams
from tinyq.ops.control_flow import callees
from tinyq.passes.signal_state import add_state_tensors
from tinyq.passes.subgraph_state import share_state
from tinyq.tflm_ops import ACCELERATOR_OPS, tflm_runs


MAX_IO_RANK = 6  # tinyq_io_t.dims in templates/model.h.j2


@dataclass(frozen=True, eq=False)
class LoweredGraph:
    graph: Graph
    ops: tuple[Lowered, ...]
    subgraphs: tuple["LoweredGraph", ...] = ()  # the main graph's: the model's subgraphs 1, 2, ... lowered
    shared_state: tuple[tuple[int, int], ...] = ()  # another subgraph's: (its tensor, main-graph tensor holding it)


def lower_op(graph: Graph, op: Operator) -> Lowered:
    spec = ops.by_name(op.op)
    if spec is None or spec.lower is None:
        accelerated = ACCELERATOR_OPS.get(op.op.removeprefix("custom:"))
        if accelerated:
            what, compiler = accelerated
            raise UnsupportedError(f"op {op.op} is {what}", where=describe_op(graph, op),
                                   hint=f"give tinyq the model as it was before {compiler} compiled it")
        if tflm_runs(op.op):
            raise UnsupportedError(f"op {op.op} is not supported yet, although TFLM runs it",
                                   where=describe_op(graph, op),
                                   hint="docs/ops.md lists what tinyq lowers; please report the model")
        raise UnsupportedError(f"op {op.op} is not supported: TFLM has no kernel for it either, so no TFLM build "
                               "runs this model", where=describe_op(graph, op),
                               hint="express that part with ops TFLM has (docs/ops.md lists them) and re-export")
    try:
        return spec.lower(graph, op)
    except ZeroDivisionError:  # only a tensor of zero points may have scale 0 (tinyq/tflite/validate.py)
        raise UnsupportedError("a requantization ratio divides by an operand's scale of 0",
                               where=describe_op(graph, op),
                               hint="TFLM's Prepare divides by it too; give the operand a positive scale") from None


def lower_graph(graph: Graph) -> LoweredGraph:
    """Lower every op; the first one that cannot be lowered raises UnsupportedError."""
    from tinyq.codegen.generate import DTYPE_CODES  # the element types the generated API describes

    for t in graph.inputs:
        if graph.tensors[t].is_const:
            raise UnsupportedError(f"graph input tensor {t} is a constant", where="graph",
                                   hint="a model's inputs are given at run time")
    graph, copies = _constant_outputs(graph)
    for t in graph.inputs + graph.outputs:
        if graph.tensors[t].dtype not in DTYPE_CODES:
            raise UnsupportedError(f"graph input/output tensor {t} is {graph.tensors[t].dtype}", where="graph",
                                   hint="the generated C takes and returns " + ", ".join(DTYPE_CODES))
        if len(graph.tensors[t].shape) > MAX_IO_RANK:
            raise UnsupportedError(f"graph input/output tensor {t} has rank {len(graph.tensors[t].shape)}",
                                   where="graph", hint=f"tinyq_io_t describes up to {MAX_IO_RANK} dimensions")
    graph, links = share_state(graph)  # state TFLM keeps in kernels, resource variables, other subgraphs' state
    if not graph.subgraphs:
        graph, root_ops = _with_constant_operands(graph, copies, lambda g, c: tuple(
            c.get(op.index) or lower_op(g, op) for op in g.operators))
        return LoweredGraph(graph=graph, ops=root_ops)
    live = _refuse_recursion(graph)
    subgraphs = tuple(LoweredGraph(graph=sub, ops=_lower_ops(graph, sub), shared_state=linked)
                      if sub.index in live else LoweredGraph(graph=sub, ops=())  # never run: no code
                      for sub, linked in zip(graph.subgraphs, links))
    graph, root_ops = _with_constant_operands(graph, copies, lambda g, c: _lower_ops(g, g, c))
    state = _state_reached(graph, subgraphs)
    root_ops = tuple(replace(k, inputs=k.inputs + state[k.op.index]) if state.get(k.op.index) else k
                     for k in root_ops)
    return LoweredGraph(graph=graph, ops=root_ops, subgraphs=subgraphs)


CONST_INPUT = "const_input"  # tinyq's own op: a constant an op's kernel reads as data, copied into the arena


def _with_constant_operands(graph: Graph, copies: dict[int, Lowered], lower_all):
    """The main graph lowered (`lower_all(graph, copies)`); where a kernel reads a constant as data from the
    arena (a float ABS or ADD of two constants that the converter left unfolded: TFLM runs those ops on
    the constant's bytes), those readers read an arena copy of it instead, written by a CONST_INPUT copy from
    flash just before the first of them, and the graph is lowered again. Readers that take the constant from
    flash (a convolution's filter) keep it."""
    lowered = lower_all(graph, copies)
    readers: dict[int, list[int]] = {}  # constant -> the ops reading it as data, in order
    for k in lowered:
        for t in k.inputs:
            if graph.tensors[t].is_const and k.op.index not in readers.get(t, []):
                readers.setdefault(t, []).append(k.op.index)
    if not readers:
        return graph, lowered
    tensors, operators, moved, arena_copy = list(graph.tensors), [], {}, {}
    for op in graph.operators:
        for t in [t for t, ops_reading in readers.items() if ops_reading[0] == op.index]:
            tensor = tensors[t]
            arena_copy[t] = len(tensors)
            tensors.append(replace(tensor, index=len(tensors), name=f"{tensor.name}_in_arena", data=None))
            copy = Operator(index=len(operators), op=CONST_INPUT, inputs=(), outputs=(arena_copy[t],))
            moved[copy.index] = _copy_from_flash(copy, tensor, f"op {op.index} reads constant tensor {t}")
            operators.append(copy)
        if op.index in copies:
            moved[len(operators)] = replace(copies[op.index], op=replace(copies[op.index].op, index=len(operators)))
        inputs = tuple(arena_copy[t] if op.index in readers.get(t, ()) else t for t in op.inputs)
        operators.append(replace(op, index=len(operators), inputs=inputs))
    graph = replace(graph, tensors=tuple(tensors), operators=tuple(operators))
    return graph, lower_all(graph, moved)


CONST_OUTPUT = "const_output"  # tinyq's own op: a constant graph output copied into its arena slot


def _constant_outputs(graph: Graph) -> tuple[Graph, dict[int, Lowered]]:
    """A graph output that is a constant (LiteRT's constant_output_tensor.tflite: TFLM returns the
    constant's bytes) becomes an arena tensor, written at the end of each invoke by a copy from flash: a
    CONST_OUTPUT op appended to the graph, lowered here (by op index)."""
    outputs = list(dict.fromkeys(t for t in graph.outputs if graph.tensors[t].is_const))
    if not outputs:
        return graph, {}
    tensors, operators, copies = list(graph.tensors), list(graph.operators), {}
    for t in outputs:
        tensor = tensors[t]
        op = Operator(index=len(operators), op=CONST_OUTPUT, inputs=(), outputs=(t,))
        operators.append(op)
        copies[op.index] = _copy_from_flash(op, tensor, f"graph output tensor {t} is a constant")
        tensors[t] = replace(tensor, data=None)
    return replace(graph, tensors=tuple(tensors), operators=tuple(operators)), copies


def _copy_from_flash(op: Operator, tensor, what: str) -> Lowered:
    """`op` (CONST_INPUT/CONST_OUTPUT, writing one tensor) as a copy of `tensor`'s bytes from flash."""
    dtype = DTYPES.get(tensor.dtype, (None,))[0]
    if dtype is None or tensor.dtype == "int4":
        raise UnsupportedError(f"{what} of type {tensor.dtype}", where="graph",
                               hint="tinyq copies constants of byte-sized types into the arena")
    values = np.ascontiguousarray(tensor.data, dtype=dtype).reshape(-1).view(np.uint8)
    return Lowered(op=op, kernel="copy_const", params=CopyParams(bytes=tensor.nbytes), inputs=(),
                   outputs=op.outputs, consts=(ConstArray("values", "uint8_t", values),))


def _lower_ops(root: Graph, sub: Graph, copies: dict[int, Lowered] | None = None) -> tuple[Lowered, ...]:
    """A subgraph's ops, lowered where the model's other subgraphs are in view (control flow)."""
    view = sub if sub.index == 0 else replace(sub, subgraphs=root.subgraphs)
    for t in sub.inputs if sub.index else ():
        tensor = sub.tensors[t]
        if tensor.is_const or tensor.is_variable:
            kind = "constant" if tensor.is_const else "variable"
            raise UnsupportedError(f"input tensor {t} ({tensor.name}) is a {kind}", where=f"subgraph {sub.index}",
                                   hint="the op running it copies its operands there")
    return tuple((copies or {}).get(op.index) or lower_op(view, op) for op in sub.operators)


def _refuse_recursion(graph: Graph) -> set[int]:
    """The subgraphs the main graph runs, directly or not. A subgraph that runs itself recurses
    without end in TFLM; tinyq plans each subgraph's memory below its callers', so it refuses that."""
    live: set[int] = set()

    def visit(sub: Graph, path: tuple[int, ...]) -> None:
        live.add(sub.index)
        for op in sub.operators:
            for k in callees(op):
                if k in path or k == sub.index:
                    raise UnsupportedError(f"runs subgraph {k}, which is already running (recursion)",
                                           where=describe_op(sub, op), hint="TFLM would recurse until its stack "
                                                                            "overflows; re-export the model")
                if 0 < k <= len(graph.subgraphs):
                    visit(graph.subgraph(k), path + (sub.index,))

    visit(graph, ())
    return live


def _state_reached(graph: Graph, subgraphs: tuple[LoweredGraph, ...]) -> dict[int, tuple[int, ...]]:
    """main-graph op index -> the main-graph state tensors the subgraphs it runs (and theirs) use."""
    def reached(k: int, seen: frozenset[int]) -> list[int]:
        found = [root for _, root in subgraphs[k - 1].shared_state]
        for op in graph.subgraph(k).operators:
            for callee in callees(op):
                if callee not in seen:
                    found += reached(callee, seen | {callee})
        return found

    result = {}
    for op in graph.operators:
        found = [t for k in callees(op) for t in reached(k, frozenset((k,)))]
        if found:
            result[op.index] = tuple(dict.fromkeys(found))
    return result


def support_report(graph: Graph) -> list[tuple[Operator, str | None]]:
    """(op, None) when tinyq can lower the op, else (op, the reason it cannot)."""
    result = []
    try:
        graph, _ = share_state(graph)
        refused = None
    except UnsupportedError as exc:  # a resource handle tinyq cannot resolve: said on its op
        graph, refused = add_state_tensors(graph), exc
    for op in graph.operators:
        try:
            if refused is not None and refused.where == describe_op(graph, op):
                raise refused
            lower_op(graph, op)
            result.append((op, None))
        except UnsupportedError as exc:
            result.append((op, exc.what + (f" ({exc.hint})" if exc.hint and "tinyq lowers" not in exc.hint else "")))
    return result
