"""Small graph-editing helpers the passes and the quantizer share: options access, renumbering.

Options arrive either as an op's own dataclass (ops tinyq describes) or as
RawOptions (ops it does not, yet); `option()` reads both, so the quantizer does
not depend on which ops have descriptions at the moment.
"""

from __future__ import annotations

from dataclasses import replace

from tinyq.ir import NO_TENSOR, Graph, Operator
from tinyq.ops.base import ENUM_FIELDS, RawOptions
from tinyq.tflite.schema import enum_names


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def option(op: Operator, name: str, default=None):
    """Option `name` (snake_case) of `op`, enums as their names ("RELU6")."""
    options = op.options
    if options is None:
        return default
    if isinstance(options, RawOptions):
        value = dict(options.values).get(_camel(name), default)
        if name in ENUM_FIELDS and isinstance(value, int):
            value = enum_names(ENUM_FIELDS[name]).get(value, value)
        return value
    return getattr(options, name, default)


def fused_activation(op: Operator) -> str:
    return option(op, "fused_activation_function", "NONE") or "NONE"


def new_op(name: str, inputs, outputs, **options) -> Operator:
    """An operator to insert (index 0 until renumber_ops), its options built from keywords."""
    from tinyq.ops import by_name

    spec = by_name(name).options
    return Operator(index=0, op=name, inputs=tuple(inputs), outputs=tuple(outputs),
                    options=spec(**options) if spec is not None else None)


def renumber_ops(operators) -> tuple[Operator, ...]:
    return tuple(replace(op, index=i) for i, op in enumerate(operators))


def compact(graph: Graph) -> Graph:
    """Drop tensors no op, input or output refers to, and renumber the rest in order."""
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.operators:
        used.update(t for t in op.inputs + op.outputs if t != NO_TENSOR)
    keep = [t for t in graph.tensors if t.index in used]
    new_index = {t.index: i for i, t in enumerate(keep)}

    def remap(indices) -> tuple[int, ...]:
        return tuple(NO_TENSOR if i == NO_TENSOR else new_index[i] for i in indices)

    tensors = tuple(replace(t, index=new_index[t.index]) for t in keep)
    operators = tuple(replace(op, index=i, inputs=remap(op.inputs), outputs=remap(op.outputs))
                      for i, op in enumerate(graph.operators))
    return replace(graph, tensors=tensors, operators=operators,
                   inputs=remap(graph.inputs), outputs=remap(graph.outputs))
