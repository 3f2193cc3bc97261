"""Float graph -> the float graph the quantizer calibrates and rewrites.

Passes, in order: fold constant subgraphs (dynamic-batch reshapes), turn hybrid
weights (int8 weights next to float activations) back into float, give every
weight and bias tensor a single user, and check that every op can be quantized.
Tensor indices of the prepared graph are the ones the int8 graph keeps, which is
how reports pair a float tensor with its quantized twin.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyq.errors import TinyqError, UnsupportedError
from tinyq.ir import NO_TENSOR, Graph, describe_op
from tinyq.passes.fold import dequantized_data, fold_constants
from tinyq.passes.graph_edit import renumber_ops
from tinyq.quantize.rules import RULES, supported_ops


def prepare_float_graph(graph: Graph, where: str = "model") -> Graph:
    _check_float_model(graph, where)
    graph = fold_constants(graph)
    graph = _dequantize_hybrid_weights(graph)
    graph = _unshare_parameters(graph)
    _check_ops(graph)
    _check_weights(graph)
    return graph


def _check_float_model(graph: Graph, where: str) -> None:
    acts = [graph.tensors[i] for i in graph.inputs]
    if acts and all(t.dtype in ("int8", "uint8", "int16") and t.quant is not None for t in acts):
        raise TinyqError("the model is already quantized (its inputs are integer)", where=where,
                         hint="pass the float model; tinyq generate/verify take this one as it is")
    if not any(graph.tensors[t].dtype == "float32" for op in graph.operators for t in op.outputs):
        raise TinyqError("the model has no float32 activations to quantize", where=where)


def _dequantize_hybrid_weights(graph: Graph) -> Graph:
    """Constant int8 tensors feeding float ops become float32 (KWS float model: hybrid conv)."""
    tensors = list(graph.tensors)
    operators = list(graph.operators)
    for pos, op in enumerate(graph.operators):
        ins = [graph.tensor(i) for i in op.inputs]
        has_float_data = any(t is not None and not t.is_const and t.dtype == "float32" for t in ins)
        if not has_float_data:
            continue
        changed = False
        for t in ins:
            if t is not None and t.is_const and t.dtype in ("int8", "uint8", "int4") and t.quant is not None:
                data = dequantized_data(t)
                data.flags.writeable = False
                tensors[t.index] = replace(t, dtype="float32", quant=None, data=data)
                changed = True
        if changed:
            operators[pos] = replace(op, version=1)
    return replace(graph, tensors=tuple(tensors), operators=tuple(operators))


def _unshare_parameters(graph: Graph) -> Graph:
    """A weight or bias used by two ops gets a copy per op: each is quantized for its own op."""
    tensors = list(graph.tensors)
    operators = list(graph.operators)
    seen: set[int] = set()
    for pos, op in enumerate(graph.operators):
        rule = RULES.get(op.op)
        if rule is None or rule.weights is None:
            continue
        inputs = list(op.inputs)
        for role in (rule.weights, rule.bias):
            if role is None or role >= len(inputs) or inputs[role] == NO_TENSOR:
                continue
            t = tensors[inputs[role]]
            if t.index in seen:
                copy = replace(t, index=len(tensors), name=f"{t.name}_{op.index}")
                tensors.append(copy)
                inputs[role] = copy.index
            seen.add(inputs[role])
        operators[pos] = replace(op, inputs=tuple(inputs))
    return replace(graph, tensors=tuple(tensors), operators=renumber_ops(operators))


def _check_ops(graph: Graph) -> None:
    for op in graph.operators:
        if op.op not in RULES:
            floats = [graph.tensors[t] for t in op.inputs + op.outputs
                      if t != NO_TENSOR and graph.tensors[t].dtype == "float32"]
            what = f"float op {op.op} cannot be quantized by tinyq" if floats else \
                f"op {op.op} (on {graph.tensors[op.outputs[0]].dtype if op.outputs else 'no'} data) " \
                "is not supported by the quantizer"
            raise UnsupportedError(what, where=describe_op(graph, op),
                                   hint=f"quantizable ops: {', '.join(supported_ops())}")


def _check_weights(graph: Graph) -> None:
    for op in graph.operators:
        rule = RULES[op.op]
        for role, name in ((rule.weights, "weights"), (rule.bias, "bias")):
            if role is None or role >= len(op.inputs) or op.inputs[role] == NO_TENSOR:
                if name == "weights" and role is not None:
                    raise UnsupportedError("has no weights input", where=describe_op(graph, op))
                continue
            t = graph.tensors[op.inputs[role]]
            if not t.is_const:
                raise UnsupportedError(f"{name} are computed at run time; tinyq quantizes constant {name} only",
                                       where=describe_op(graph, op))
            if t.dtype != "float32":
                raise UnsupportedError(f"{name} are {t.dtype}; expected float32", where=describe_op(graph, op))
        for t in graph.op_inputs(op):
            if t is not None and t.is_const and t.dtype == "float32" and not np.all(np.isfinite(t.data)):
                raise TinyqError(f"constant tensor {t.index} ({t.name}) holds NaN/Inf",
                                 where=describe_op(graph, op), hint="the float model is broken")
