"""Activation widths: which layers run on int8 and which on int16 activations, and the QUANTIZE ops joining them.

A unit (a "layer" in reports) is one group of tensors that share quantization
parameters (actparams.tie_groups: a convolution's output with the pooling and
reshape after it, a concatenation with its inputs) and is computed at run time.
Every op that writes a unit's tensors runs at the unit's width, so TFLM's
kernels see one activation type per op (their 16x8 kernels take int16 in and
out). An op reading a tensor of the other width reads a copy made by a QUANTIZE
op placed just before the first such reader (a constant is simply stored again
at that width). The float graph's tensor indices stay those of the quantized
graph; copies and converted graph inputs/outputs come after them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph
from tinyq.quantize.actparams import activation_positions, tie_groups
from tinyq.quantize.rules import RULES

INT_IO = ("int8", "int16")


@dataclass(frozen=True)
class Unit:
    index: int
    tensors: tuple[int, ...]
    ops: tuple[int, ...]  # float ops writing its tensors, in order (none: a graph input)

    def describe(self, graph: Graph) -> str:
        if not self.ops:
            return f"input '{graph.tensors[self.tensors[0]].name}'"
        first = graph.operators[self.ops[0]]
        rest = [graph.operators[i].op for i in self.ops[1:]]
        return f"op {first.index} {first.op}" + "".join(f" + {name}" for name in rest)


def activation_units(graph: Graph) -> tuple[Unit, ...]:
    ties = tie_groups(graph)
    producer = {t: op.index for op in graph.operators for t in op.outputs}
    units = []
    for members in ties.members:
        computed = [t for t in members if not graph.tensors[t].is_const]
        if computed:
            ops = sorted({producer[t] for t in computed if t in producer})
            units.append(Unit(len(units), tuple(members), tuple(ops)))
    return tuple(units)


@dataclass(frozen=True)
class Layout:
    dtypes: dict  # every quantized tensor -> "int8" | "int16"
    origin: dict  # quantized tensor -> the float tensor whose values it holds (itself for the float graph's)
    copy_of: dict  # a tensor at the other width -> the tensor it is converted (or a constant re-stored) from
    reads: dict  # (float op index, input position) -> the tensor the op reads there, where not the float one
    conversions: tuple[tuple[int, int, int], ...]  # QUANTIZE source -> target, before float op (len(ops): last)
    inputs: tuple[int, ...]  # graph inputs and outputs of the quantized graph
    outputs: tuple[int, ...]
    op_dtypes: dict  # float op -> its activation type (ops writing no float tensor are absent)
    unit_dtypes: tuple[str, ...]  # per unit
    float_ops: frozenset = frozenset()  # float ops of int16 layers that run float (no int16 kernel: --int16-fallback)

    @property
    def int16_units(self) -> tuple[int, ...]:
        return tuple(u for u, d in enumerate(self.unit_dtypes) if d == "int16")


def plan_layout(graph: Graph, units: tuple[Unit, ...], unit_dtypes, io: str = "int",
                float_ops: frozenset = frozenset()) -> Layout:
    """Where each tensor lives and what joins int8 and int16 units; `io` int8/int16 converts graph
    inputs and outputs of the other width (int and float keep the unit's width at the edge). `float_ops`
    run float between DEQUANTIZE and QUANTIZE, reading and writing their tensors at the tensors' widths."""
    unit_dtypes = tuple(unit_dtypes)
    home: dict[int, str] = {t: unit_dtypes[u.index] for u in units for t in u.tensors}
    op_dtypes = {op: unit_dtypes[u.index] for u in units for op in u.ops}
    dtypes, origin = dict(home), {t: t for t in home}
    copy_of: dict[int, int] = {}
    reads: dict[tuple[int, int], int] = {}
    conversions: list[tuple[int, int, int]] = []
    copies: dict[tuple[int, str], int] = {}
    count = len(graph.tensors)

    def new_tensor(source: int, dtype: str) -> int:
        nonlocal count
        dtypes[count], origin[count] = dtype, origin.get(source, source)
        count += 1
        return count - 1

    for op in graph.operators:
        width = op_dtypes.get(op.index)
        for p in activation_positions(graph, op):
            t = op.inputs[p]
            # an op writing no unit (a comparison's bool) runs its int8 kernel; some int16 kernels take an
            # operand as int8 (RULES[...].int8_inputs)
            want = "int8" if p in RULES[op.op].int8_inputs else width or "int8"
            if t not in dtypes:  # a constant in no unit: stored at its first reader's width
                home[t] = want
                dtypes[t], origin[t] = home[t], t
            # a float island's DEQUANTIZE reads either width: a copy would only cost a rounding to int8
            if want == home[t] or RULES[op.op].float_island or op.index in float_ops:
                continue
            if (t, want) not in copies:
                copies[t, want] = copy = new_tensor(t, want)
                copy_of[copy] = t
                if not graph.tensors[t].is_const:
                    conversions.append((t, copy, op.index))
            reads[op.index, p] = copies[t, want]
    inputs, outputs = [], []
    for t in graph.inputs:
        if io in INT_IO and t in home and home[t] != io:
            outer = new_tensor(t, io)
            conversions.insert(0, (outer, t, 0))
            t = outer
        inputs.append(t)
    for t in graph.outputs:
        if io in INT_IO and t in home and home[t] != io:
            outer = new_tensor(t, io)
            copy_of[outer] = t
            conversions.append((t, outer, len(graph.operators)))
            t = outer
        outputs.append(t)
    return Layout(dtypes, origin, copy_of, reads, tuple(conversions), tuple(inputs), tuple(outputs), op_dtypes,
                  unit_dtypes, frozenset(float_ops))


def uniform_layout(graph: Graph, units: tuple[Unit, ...], dtype: str, io: str = "int") -> Layout:
    return plan_layout(graph, units, [dtype] * len(units), io)
