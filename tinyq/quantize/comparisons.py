"""Comparison operands scaled by a power of two, so that TFLM's int8 comparison can take them.

TFLM's int8 EQUAL/GREATER/... (comparisons.cc) turn each operand's scale into a multiplier with
QuantizeMultiplierSmallerThanOneExp, which aborts on a scale of 1 or more: an operand spanning
255 or more (raw audio, unnormalized features, a large logit) cannot be compared in int8 as it
is. x > y holds exactly when x 2^-k > y 2^-k, and in float32 that product is exact, so each
operand of such a comparison is multiplied by one power of two (a MUL, whose int8 output takes
its own, smaller scale; a constant operand is stored scaled) and the comparison reads the products.
Ranges come from the first SAMPLES calibration records, as masks.py finds its scores', over each operand's
tie group (an operand a SELECT_V2 also reads shares that op's parameters).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.passes.graph_edit import new_op, renumber_ops
from tinyq.passes.tflm_equivalents import Editor
from tinyq.quantize.actparams import tie_groups
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.rules import RULES

SAMPLES = 64
# the widest operand range kept as it is: an int8 scale of width / 255 stays under 1 with room for an
# observer that widens it (int16 copies of comparisons do not exist: comparisons run int8)
MAX_WIDTH = 128.0


def _compared(graph: Graph) -> list[Operator]:
    return [op for op in graph.operators if RULES[op.op].outcomes is not None
            and all(graph.tensors[t].dtype == "float32" for t in op.inputs[:2])]


def comparable_operands(graph: Graph, calib) -> Graph:
    ops = _compared(graph)
    if not ops:
        return graph
    # an operand shares its parameters with its group (a SELECT_V2 it also feeds): the group's range sets them
    ties = tie_groups(graph)
    group = {t: [m for m in ties.members[ties.group_of[t]] if not graph.tensors[m].is_const]
             for op in ops for t in op.inputs[:2] if not graph.tensors[t].is_const and t in ties.group_of}
    members = sorted({m for ms in group.values() for m in ms})
    seen_lo, seen_hi = {t: np.inf for t in members}, {t: -np.inf for t in members}
    runner = FloatRunner(graph)
    for record in calib.records(graph, SAMPLES):
        for t, values in runner.run(record, members).items():
            finite = values[np.isfinite(values)]
            if finite.size:
                seen_lo[t], seen_hi[t] = min(seen_lo[t], float(finite.min())), max(seen_hi[t], float(finite.max()))
    lo = {t: min(seen_lo[m] for m in ms) for t, ms in group.items()}
    hi = {t: max(seen_hi[m] for m in ms) for t, ms in group.items()}
    ed = Editor(graph)
    inserted: dict[int, list[Operator]] = {}  # comparison index -> the MULs before it
    replaced: dict[int, Operator] = {}
    for op in ops:
        # the data's spans (int8 ranges hold 0); a constant threshold past them saturates (actparams.py)
        width = max((max(hi[t], 0.0) - min(lo[t], 0.0) for t in op.inputs[:2] if t in lo and np.isfinite(lo[t])),
                    default=0.0)
        if width < MAX_WIDTH:
            continue
        factor = 2.0 ** -math.ceil(math.log2(width / MAX_WIDTH))
        operands, muls = [], []
        for t in op.inputs[:2]:
            if graph.tensors[t].is_const:
                operands.append(ed.constant(t, "scaled", np.asarray(graph.tensors[t].data, np.float32) * factor))
            else:
                operands.append(ed.tensor(t, "scaled"))
                muls.append(new_op("mul", [t, ed.constant(t, "compare_scale", [factor])], [operands[-1]]))
        inserted[op.index] = muls
        replaced[op.index] = replace(op, inputs=tuple(operands) + op.inputs[2:])
    if not replaced:
        return graph
    operators = []
    for op in graph.operators:
        operators += inserted.get(op.index, []) + [replaced.get(op.index, op)]
    return replace(graph, tensors=tuple(ed.tensors), operators=renumber_ops(operators))
