"""WHILE, IF and CALL_ONCE: ops that run other subgraphs of the model.

TFLM's kernels (while.cc, if.cc, call_once.cc over MicroGraph) run a subgraph by copying: the
op's operands are copied into the subgraph's input tensors, the subgraph's ops run, and its
output tensors are copied into the op's outputs. WHILE copies its inputs into the cond subgraph's
inputs and into its own outputs (the loop variables), runs cond, and while cond's first output
(a bool) is true copies the loop variables into the body's inputs, runs the body, copies the
body's outputs back into the loop variables and those into cond's inputs, and runs cond again.
IF reads its first input (a bool of one element), copies the others into the branch it takes,
runs it and copies the branch's outputs out (a branch without outputs leaves them as they were).
CALL_ONCE runs its subgraph at the first invoke only: TFLM's Reset() does not run it again.

tinyq lowers each of them to that sequence of copies and calls (`Copy`, `Ref`); each subgraph
becomes a C function over its own tensors, planned in a region of the arena the calling op
holds while it runs (tinyq/plan/subgraphs.py), and the generated code names the callee's
tensors through the code generator (`KernelView.callee`). Every copy moves the same number of
bytes between tensors of the same type, as TFLM's `ValidateAndGetTensorSizes` requires (its
invoke fails otherwise). Resource handles (0 bytes in tinyq: tinyq/passes/resource_variables.py
resolves them before lowering) are not copied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import NO_TENSOR, Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, Lowered, OpSpec, reference_kernel, unsupported

RE_EXPORT = "the model's subgraphs do not match the op; re-export it"


@dataclass(frozen=True)
class WhileOptions:
    cond_subgraph_index: int = 0
    body_subgraph_index: int = 0


@dataclass(frozen=True)
class IfOptions:
    then_subgraph_index: int = 0
    else_subgraph_index: int = 0


@dataclass(frozen=True)
class CallOnceOptions:
    init_subgraph_index: int = 0


# op name -> the option fields naming the subgraphs it runs
CALLEE_FIELDS = {"while": ("cond_subgraph_index", "body_subgraph_index"),
                 "if": ("then_subgraph_index", "else_subgraph_index"),
                 "call_once": ("init_subgraph_index",)}


def callees(op: Operator) -> tuple[int, ...]:
    """The subgraphs `op` runs (none for an op that is not control flow)."""
    return tuple(getattr(op.options, name) for name in CALLEE_FIELDS.get(op.op, ()))


@dataclass(frozen=True)
class Ref:
    """One end of a copy: a tensor of the op (`slot` in its Lowered inputs or outputs), a tensor of a
    subgraph it runs, or a flash array of the lowering."""

    kind: str  # "input", "output", "callee" or "const"
    slot: int = -1
    subgraph: int = 0
    tensor: int = NO_TENSOR
    const: str = ""


@dataclass(frozen=True)
class Copy:
    dst: Ref
    src: Ref
    bytes: int


@dataclass(frozen=True)
class WhileParams:
    cond: int
    body: int
    enter: tuple[Copy, ...]  # op inputs -> cond inputs, then op inputs -> op outputs (the loop variables)
    to_body: tuple[Copy, ...]  # loop variables -> body inputs
    from_body: tuple[Copy, ...]  # body outputs -> loop variables
    to_cond: tuple[Copy, ...]  # loop variables -> cond inputs
    cond_value: Ref  # cond's first output: the loop runs while its first byte is not 0


@dataclass(frozen=True)
class IfParams:
    then: int
    other: int  # the else branch
    cond_value: Ref
    to_then: tuple[Copy, ...]
    from_then: tuple[Copy, ...]
    to_other: tuple[Copy, ...]
    from_other: tuple[Copy, ...]


@dataclass(frozen=True)
class CallOnceParams:
    init: int


class _Operands:
    """The op's activation tensors (Lowered inputs and outputs, each once) and its flash arrays, as refs."""

    def __init__(self, graph: Graph, op: Operator):
        self.graph, self.op = graph, op
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.consts: list[ConstArray] = []

    def of_op(self, t: Tensor, role: str) -> Ref:
        if t.is_const:
            return self._const(t, f"{role}{len(self.consts)}")
        slots = self.inputs if role == "input" else self.outputs
        if t.index not in slots:
            slots.append(t.index)
        return Ref(role, slot=slots.index(t.index))

    def of_callee(self, sub: Graph, t: Tensor) -> Ref:
        if t.is_const:  # a subgraph may give back a constant: TFLM copies it from the flatbuffer
            return self._const(t, f"subgraph{sub.index}_t{t.index}")
        return Ref("callee", subgraph=sub.index, tensor=t.index)

    def _const(self, t: Tensor, name: str) -> Ref:
        if t.dtype == "int4":  # unpacked in the IR: its bytes are not the file's
            raise unsupported(self.graph, self.op, f"copies the int4 constant {t.name}", RE_EXPORT)
        if all(c.name != name for c in self.consts):
            self.consts.append(ConstArray(name, "uint8_t", const_bytes(t)))
        return Ref("const", const=name)


def const_bytes(t: Tensor) -> np.ndarray:
    """A constant tensor's bytes as the file holds them (little-endian), for a copy from flash."""
    data = np.ascontiguousarray(t.data)
    return np.frombuffer(data.astype(data.dtype.newbyteorder("<")).tobytes(), dtype=np.uint8)


def _copies(ops: _Operands, pairs, what: str) -> tuple[Copy, ...]:
    """Copies dst <- src for each (dst tensor, dst ref maker, src tensor, src ref maker), after TFLM's size check."""
    result = []
    for i, (dst, dst_ref, src, src_ref) in enumerate(pairs):
        if dst.dtype != src.dtype or dst.nbytes != src.nbytes:
            raise unsupported(ops.graph, ops.op, f"{what} {i}: {src.dtype}{list(src.shape)} into "
                                                  f"{dst.dtype}{list(dst.shape)} (TFLM copies tensors of one type "
                                                  "and size; its invoke fails otherwise)", RE_EXPORT)
        if dst.dtype == "resource" or dst.nbytes == 0:
            continue  # resolved statically (tinyq/passes/resource_variables.py); nothing to copy
        result.append(Copy(dst_ref(dst), src_ref(src), dst.nbytes))
    return tuple(result)


def _subgraphs(graph: Graph, op: Operator) -> list[Graph]:
    result = []
    for k in callees(op):
        if k == 0:
            raise unsupported(graph, op, "runs subgraph 0, the main graph, from within it (recursion)",
                              "TFLM would recurse until its stack overflows; " + RE_EXPORT)
        result.append(graph.subgraph(k))
    return result


def _tensors(graph: Graph, indices) -> list[Tensor]:
    return [graph.tensors[i] for i in indices]


def _bool_ref(ops: _Operands, t: Tensor, what: str, callee: Graph | None = None) -> Ref:
    if t.dtype != "bool" or t.numel < 1:
        raise unsupported(ops.graph, ops.op, f"{what} is {t.dtype}{list(t.shape)}; TFLM reads its first element as "
                                             "a bool", RE_EXPORT)
    return ops.of_callee(callee, t) if callee is not None else ops.of_op(t, "input")


def lower_while(graph: Graph, op: Operator) -> Lowered:
    cond, body = _subgraphs(graph, op)
    ops = _Operands(graph, op)
    ins, outs = _tensors(graph, op.inputs), _tensors(graph, op.outputs)
    cond_in, body_in, body_out = _tensors(cond, cond.inputs), _tensors(body, body.inputs), _tensors(body, body.outputs)
    op_in = (lambda t: ops.of_op(t, "input"))
    op_out = (lambda t: ops.of_op(t, "output"))
    cond_ref = (lambda t: ops.of_callee(cond, t))
    body_ref = (lambda t: ops.of_callee(body, t))
    enter = _copies(ops, [(c, cond_ref, x, op_in) for c, x in zip(cond_in, ins)], "cond input") + \
        _copies(ops, [(y, op_out, x, op_in) for y, x in zip(outs, ins)], "loop variable")
    to_body = _copies(ops, [(b, body_ref, y, op_out) for b, y in zip(body_in, outs)], "body input")
    from_body = _copies(ops, [(y, op_out, b, body_ref) for y, b in zip(outs, body_out)], "body output")
    to_cond = _copies(ops, [(c, cond_ref, y, op_out) for c, y in zip(cond_in, outs)], "cond input")
    value = _bool_ref(ops, cond.tensors[cond.outputs[0]], f"cond subgraph {cond.index}'s first output", cond)
    params = WhileParams(cond=cond.index, body=body.index, enter=enter, to_body=to_body, from_body=from_body,
                         to_cond=to_cond, cond_value=value)
    return Lowered(op=op, kernel="while", params=params, inputs=tuple(ops.inputs), outputs=tuple(ops.outputs),
                   consts=tuple(ops.consts))


def lower_if(graph: Graph, op: Operator) -> Lowered:
    then, other = _subgraphs(graph, op)
    ops = _Operands(graph, op)
    ins, outs = _tensors(graph, op.inputs), _tensors(graph, op.outputs)
    value = _bool_ref(ops, ins[0], "the condition (input 0)")
    if ins[0].numel != 1:
        raise unsupported(graph, op, f"the condition has {ins[0].numel} elements; TFLM's Prepare requires 1", RE_EXPORT)
    branches = []
    for branch in (then, other):
        if outs and not branch.outputs:
            raise unsupported(graph, op, f"subgraph {branch.index} gives no outputs: TFLM leaves the op's outputs as "
                                         "its arena holds them", "give both branches the op's outputs")
        ref = (lambda t, b=branch: ops.of_callee(b, t))
        to = _copies(ops, [(b, ref, x, lambda t: ops.of_op(t, "input"))
                           for b, x in zip(_tensors(branch, branch.inputs), ins[1:])], f"subgraph {branch.index} input")
        back = _copies(ops, [(y, lambda t: ops.of_op(t, "output"), b, ref)
                             for y, b in zip(outs, _tensors(branch, branch.outputs))],
                       f"subgraph {branch.index} output")
        branches.append((to, back))
    for y in outs:  # written by either branch (or by neither: an else without outputs keeps them)
        ops.of_op(y, "output")
    params = IfParams(then=then.index, other=other.index, cond_value=value, to_then=branches[0][0],
                      from_then=branches[0][1], to_other=branches[1][0], from_other=branches[1][1])
    return Lowered(op=op, kernel="if", params=params, inputs=tuple(ops.inputs), outputs=tuple(ops.outputs),
                   consts=tuple(ops.consts))


def lower_call_once(graph: Graph, op: Operator) -> Lowered:
    (init,) = _subgraphs(graph, op)
    if op.inputs or op.outputs:
        raise unsupported(graph, op, "has operands; TFLM's CALL_ONCE takes none", RE_EXPORT)
    return Lowered(op=op, kernel="call_once", params=CallOnceParams(init=init.index), inputs=(), outputs=())


SPECS = [
    OpSpec(name="while", builtin="WHILE", options=WhileOptions, fb_options="WhileOptions", lower=lower_while,
           kernels=(reference_kernel("while"),),
           doc="any tensor types (loop variables copied as TFLM's MicroGraph does); cond and body subgraphs "
               "are C functions planned in the op's region of the arena"),
    OpSpec(name="if", builtin="IF", options=IfOptions, fb_options="IfOptions", lower=lower_if,
           kernels=(reference_kernel("if"),),
           doc="a bool condition of one element; each branch a C function planned in the op's region"),
    OpSpec(name="call_once", builtin="CALL_ONCE", options=CallOnceOptions, fb_options="CallOnceOptions",
           lower=lower_call_once, kernels=(reference_kernel("call_once"),),
           doc="runs its subgraph at the first invoke; as TFLM's, not again after reset"),
]
