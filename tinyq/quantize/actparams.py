"""Activation quantization parameters: observed ranges, tied where TFLM requires, fixed where TFLite does.

Tensors whose params must be equal (a pooling or reshape output and its input,
every input of a concatenation and its output, ...) form one group; a group
takes the union of its members' chosen ranges, or the fixed parameters of a
softmax/logistic/tanh output when one is in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.errors import TinyqError
from tinyq.ir import NO_TENSOR, Graph, Quant, describe_op
from tinyq.quantize.observers import OBSERVERS, TensorStats
from tinyq.quantize.qparams import affine_params, f32
from tinyq.quantize.rules import RULES


@dataclass(frozen=True)
class ActivationChoice:
    quant: Quant
    observed: tuple[float, float]  # what calibration saw (min, max)
    chosen: tuple[float, float]  # the range the parameters cover
    reason: str  # "minmax", "mse", "tied", "softmax output", ...


def activation_inputs(graph: Graph, op) -> list[int]:
    """The op's inputs that carry data (quantized as activations), not weights, biases or shapes."""
    rule = RULES[op.op]
    positions = rule.activation_inputs if rule.activation_inputs is not None else range(len(op.inputs))
    return [op.inputs[p] for p in positions if p < len(op.inputs) and op.inputs[p] != NO_TENSOR
            and graph.tensors[op.inputs[p]].dtype == "float32"]


def quantized_tensors(graph: Graph) -> list[int]:
    """Every float tensor that becomes an int8 activation (float constants used as data included)."""
    seen: list[int] = [t for t in graph.inputs if graph.tensors[t].dtype == "float32"]
    for op in graph.operators:
        for t in activation_inputs(graph, op) + [t for t in op.outputs if graph.tensors[t].dtype == "float32"]:
            if t not in seen:
                seen.append(t)
    return seen


class _Groups:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def choose_activation_params(graph: Graph, stats: dict[int, TensorStats], observer: str) -> dict[int, ActivationChoice]:
    pick = OBSERVERS[observer]
    tensors = quantized_tensors(graph)
    groups = _Groups()
    fixed: dict[int, tuple[tuple[float, int], str]] = {}
    for op in graph.operators:
        rule = RULES[op.op]
        data_in = activation_inputs(graph, op)
        outs = [t for t in op.outputs if graph.tensors[t].dtype == "float32"]
        if rule.output_as_input and data_in:
            for t in outs:  # every output of a multi-output op (SPLIT, UNPACK)
                groups.union(t, data_in[0])
        if rule.inputs_as_output and outs:
            for t in data_in:
                groups.union(t, outs[0])
        if rule.fixed_output is not None and outs:
            fixed[outs[0]] = (rule.fixed_output, f"{op.op} output")

    observed: dict[int, tuple[float, float]] = {}
    chosen: dict[int, tuple[float, float]] = {}
    for t in tensors:
        tensor = graph.tensors[t]
        if tensor.is_const:
            observed[t] = chosen[t] = (float(np.min(tensor.data)), float(np.max(tensor.data)))
        elif t in stats:
            observed[t] = (stats[t].lo, stats[t].hi)
            chosen[t] = pick(stats[t])
        else:
            raise TinyqError(f"tensor {t} ({tensor.name}) was never computed during calibration",
                             hint="this is a tinyq bug")

    members: dict[int, list[int]] = {}
    for t in tensors:
        members.setdefault(groups.find(t), []).append(t)

    result: dict[int, ActivationChoice] = {}
    for root, group in members.items():
        fixed_here = {fixed[t][0] for t in group if t in fixed}
        if len(fixed_here) > 1:
            op = next(o for o in graph.operators if group[0] in o.inputs + o.outputs)
            raise TinyqError(f"tensors {group} must share parameters but two ops fix different ones",
                             where=describe_op(graph, op))
        if fixed_here:
            scale, zp = fixed_here.pop()
            reason = next(fixed[t][1] for t in group if t in fixed)
            lo, hi = qmath.real_range(scale, zp)
        else:
            lo = min(chosen[t][0] for t in group)
            hi = max(chosen[t][1] for t in group)
            scale, zp = affine_params(lo, hi)
            reason = observer if len(group) == 1 else f"{observer}, shared by {len(group)} tensors"
        quant = Quant(scale=(f32(scale),), zero_point=(int(zp),))
        for t in group:
            result[t] = ActivationChoice(quant=quant, observed=observed[t], chosen=(lo, hi), reason=reason)
    return result
