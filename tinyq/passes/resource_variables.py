"""Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE) resolved before lowering.

TFLM keeps each variable in a buffer of its MicroResourceVariables (micro_resource_variable.cc),
not in a tensor: VAR_HANDLE's Prepare finds or creates the variable named by its container and
shared name (an absent container matches any) and makes its output tensor hold the id; the
Prepare of an ASSIGN_VARIABLE whose handle comes from a VAR_HANDLE earlier in its own subgraph
allocates the buffer, once, with the bytes of the value assigned, and fills it with the value's
zero point taken as an int8 (0 without quantization). Prepare runs over subgraph 0, then 1, ...,
so the first such ASSIGN_VARIABLE in that order decides. READ_VARIABLE copies the buffer into its
output, ASSIGN_VARIABLE copies its value into the buffer, and Reset() fills every buffer again.

tinyq resolves every handle statically: VAR_HANDLE outputs carry their variable, and WHILE and IF
pass handles on to the subgraphs they run (a handle that may name two variables is refused). Each
variable becomes a variable tensor of the main graph, `tinyq_resource:<shared name>`, whose bytes
are the buffer's: typed int8 with the fill byte as its zero point (uint8 when the fill is 0), so
tinyq/plan/state.py keeps it in the arena's state region and the generated reset writes TFLM's
fill. Every READ_VARIABLE and ASSIGN_VARIABLE gets the tensor of its variable appended to its
inputs; in another subgraph that is a tensor of its own, linked to the main graph's (`links`), so
its bytes are the main graph's (tinyq/lower.py, tinyq/plan/subgraphs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Operator, Quant, Tensor, describe_op
from tinyq.ops.control_flow import callees

RESOURCE_PREFIX = "tinyq_resource:"
VARIABLE_OPS = ("read_variable", "assign_variable")


@dataclass(frozen=True)
class Resource:
    id: int  # TFLM's resource id: the order VAR_HANDLE's Prepare creates them in
    container: str | None
    shared_name: str
    nbytes: int = -1  # -1: no ASSIGN_VARIABLE allocates it (TFLM reads unallocated memory)
    fill: int = 0  # the byte TFLM fills the buffer with (the value's zero point as an int8)


def _program(graph: Graph) -> list[Graph]:
    return [graph, *graph.subgraphs]


def _name(op: Operator, field: str) -> str | None:
    value = getattr(op.options, field, None)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return value


def _find_or_create(resources: list[Resource], container: str | None, shared_name: str) -> int:
    """TFLM's CreateIdIfNoneFound: a null container matches any; names compare as C strings."""
    for r in resources:
        if (container is None or container == (r.container or "")) and shared_name == r.shared_name:
            return r.id
    resources.append(Resource(len(resources), container, shared_name))
    return len(resources) - 1


def _propagate(program: list[Graph], handles: dict[tuple[int, int], frozenset[int]]) -> None:
    """Handles flow into the subgraphs WHILE and IF run and out of their outputs, to a fixed point."""
    def flow(dst: tuple[int, int], *sources: tuple[int, int]) -> bool:
        found = frozenset().union(*(handles.get(s, frozenset()) for s in sources))
        if found - handles.get(dst, frozenset()):
            handles[dst] = handles.get(dst, frozenset()) | found
            return True
        return False

    changed = True
    while changed:
        changed = False
        for g in program:
            for op in g.operators:
                if op.op == "while":
                    cond, body = (program[k] for k in callees(op))
                    for i, x in enumerate(op.inputs):
                        carried = ((g.index, x), (body.index, body.outputs[i]))
                        for dst in ((cond.index, cond.inputs[i]), (body.index, body.inputs[i]),
                                    (g.index, op.outputs[i])):
                            changed |= flow(dst, *carried)
                elif op.op == "if":
                    branches = [program[k] for k in callees(op)]
                    for b in branches:
                        for i, x in enumerate(op.inputs[1:]):
                            changed |= flow((b.index, b.inputs[i]), (g.index, x))
                    for i, y in enumerate(op.outputs):
                        changed |= flow((g.index, y), *((b.index, b.outputs[i]) for b in branches if b.outputs))


def resolve(graph: Graph) -> tuple[list[Resource], dict[tuple[int, int], frozenset[int]]]:
    """The model's variables, and the variables each handle tensor (subgraph, tensor) may name."""
    program = _program(graph)
    resources: list[Resource] = []
    handles: dict[tuple[int, int], frozenset[int]] = {}
    made_here: dict[tuple[int, int], int] = {}  # handle tensors VAR_HANDLE writes: Prepare knows their id
    for g in program:
        for op in g.operators:
            if op.op == "var_handle" and op.outputs:
                rid = _find_or_create(resources, _name(op, "container"), _name(op, "shared_name") or "")
                handles[(g.index, op.outputs[0])] = frozenset((rid,))
                made_here[(g.index, op.outputs[0])] = rid
    _propagate(program, handles)
    for g in program:  # TFLM's Prepare order: the first ASSIGN_VARIABLE of a known id allocates
        for op in g.operators:
            if op.op != "assign_variable" or len(op.inputs) < 2:
                continue
            rid = made_here.get((g.index, op.inputs[0]))
            value = g.tensor(op.inputs[1])
            if rid is None or value is None or resources[rid].nbytes >= 0:
                continue
            fill = (value.quant.zp if value.quant is not None and value.quant.zero_point else 0) & 0xFF
            resources[rid] = replace(resources[rid], nbytes=value.nbytes, fill=fill)
    return resources, handles


def _storage(r: Resource, index: int) -> Tensor:
    """The variable tensor holding resource `r`'s bytes (module doc)."""
    fill = r.fill - 256 if r.fill > 127 else r.fill
    quant = Quant(scale=(1.0,), zero_point=(fill,)) if fill else None
    return Tensor(index=index, name=f"{RESOURCE_PREFIX}{r.shared_name}", dtype="int8" if fill else "uint8",
                  shape=(r.nbytes,), quant=quant, is_variable=True)


def _variable_of(g: Graph, op: Operator, resources, handles) -> Resource:
    ids = handles.get((g.index, op.inputs[0]), frozenset()) if op.inputs else frozenset()
    where = describe_op(g, op)
    if len(ids) != 1:
        what = "no VAR_HANDLE" if not ids else "VAR_HANDLEs of " + ", ".join(sorted(resources[i].shared_name
                                                                                   for i in ids))
        raise UnsupportedError(f"its resource handle comes from {what}", where=where,
                               hint="tinyq resolves each handle to one variable before running the model")
    r = resources[next(iter(ids))]
    if r.nbytes < 0:
        raise UnsupportedError(f"variable {r.shared_name} is never allocated: no ASSIGN_VARIABLE after its "
                               "VAR_HANDLE in one subgraph", where=where,
                               hint="TFLM reads or writes the variable through a null buffer")
    return r


def add_variable_tensors(graph: Graph) -> tuple[Graph, tuple[tuple[tuple[int, int], ...], ...]]:
    """The model with each READ_VARIABLE / ASSIGN_VARIABLE reading its variable's tensor (last input),
    and per subgraph 1, 2, ... the (tensor, main graph tensor) pairs linking its variable tensors to
    the main graph's. Idempotent; a model without variables comes back as it is."""
    program = _program(graph)
    if not any(op.op in VARIABLE_OPS for g in program for op in g.operators) or \
            any(t.name.startswith(RESOURCE_PREFIX) for t in graph.tensors):
        return graph, tuple(() for _ in graph.subgraphs)
    resources, handles = resolve(graph)
    used = {k: [] for k in range(len(program))}
    for g in program:
        for op in g.operators:
            if op.op in VARIABLE_OPS:
                r = _variable_of(g, op, resources, handles)
                if r.id not in used[g.index]:
                    used[g.index].append(r.id)
    root_tensors = list(graph.tensors)
    in_root = {}
    for r in resources:
        if r.nbytes >= 0:
            in_root[r.id] = len(root_tensors)
            root_tensors.append(_storage(r, len(root_tensors)))
    edited, links = [], []
    for g in program:
        tensors = root_tensors if g.index == 0 else list(g.tensors)
        local = {}
        for rid in used[g.index]:
            if g.index == 0:
                local[rid] = in_root[rid]
            else:
                local[rid] = len(tensors)
                tensors.append(_storage(resources[rid], len(tensors)))
        operators = tuple(replace(op, inputs=op.inputs + (local[_variable_of(g, op, resources, handles).id],))
                          if op.op in VARIABLE_OPS else op for op in g.operators)
        edited.append(replace(g, tensors=tuple(tensors), operators=operators))
        if g.index:
            links.append(tuple((local[rid], in_root[rid]) for rid in used[g.index]))
    return replace(edited[0], subgraphs=tuple(edited[1:])), tuple(links)
