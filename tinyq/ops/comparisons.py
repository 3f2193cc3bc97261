"""EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL -> bool, any TFLite broadcast.

TFLM (comparisons.cc) compares int8 operands after bringing both to a common
scale: each offset value is shifted left by 8 and multiplied by its own scale as a
QuantizeMultiplierSmallerThanOneExp multiplier (so scales must be below 1), then
the two products are compared; int32, int64 and bool (EQUAL/NOT_EQUAL only)
compare the stored values. The six ops share one kernel; an op is the table of its
outcomes for x < y, x == y and x > y.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, C_SUFFIX, broadcast_operands, lowered
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest

LEFT_SHIFT = 8  # ComparisonsPrepare's kLeftShift for int8

LESS, EQUAL, GREATER = 1, 2, 4  # outcome bits: the result when x < y, x == y, x > y
OUTCOMES = {"equal": EQUAL, "not_equal": LESS | GREATER, "greater": GREATER, "greater_equal": GREATER | EQUAL,
            "less": LESS, "less_equal": LESS | EQUAL}

# TFLM's cases per op (its int16 GREATER reads scaling parameters Prepare never sets: not reproduced)
ORDERED = ("int8", "int32", "int64")
DTYPES = {"equal": ORDERED + ("bool",), "not_equal": ORDERED + ("bool",)}


@dataclass(frozen=True)
class CompareParams:
    loops: LoopNest
    sources: tuple[int, ...]
    suffix: str  # C entry point: tq_compare_<suffix>
    outcomes: int
    left_shift: int = 0
    input1_offset: int = 0
    input1_multiplier: int = 0
    input1_shift: int = 0
    input2_offset: int = 0
    input2_multiplier: int = 0
    input2_shift: int = 0


def _scaling(graph: Graph, op: Operator, t) -> tuple[int, int]:
    if t.quant is None:
        raise unsupported(graph, op, f"int8 operand {t.index} ({t.name}) has no quantization parameters")
    scaling = qmath.quantize_multiplier_below_one(qmath.f32(t.quant.s))
    if scaling is None:
        raise unsupported(graph, op, f"operand {t.index} ({t.name}) has scale {t.quant.s:g}; TFLM's int8 "
                                     "comparison needs scales below 1 (it aborts otherwise)")
    return scaling


@dataclass(frozen=True)
class CompareF32Params:
    loops: LoopNest
    sources: tuple[int, ...]


def lower(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):  # lhs OP rhs on the floats (a NaN is unequal and unordered)
        a, b, y, loops = broadcast_operands(graph, op, (f32.FLOAT32,))
        if y.dtype != "bool":
            raise unsupported(graph, op, f"output is {y.dtype}; TFLM's comparisons write bool")
        return lowered(op, "compare_f32", CompareF32Params, (a, b), y, loops=loops)
    a, b, y, loops = broadcast_operands(graph, op, DTYPES.get(op.op, ORDERED))
    if y.dtype != "bool":
        raise unsupported(graph, op, f"output is {y.dtype}; TFLM's comparisons write bool")
    fields = dict(loops=loops, suffix=C_SUFFIX[a.dtype], outcomes=OUTCOMES[op.op])
    if a.dtype == "int8":
        (m1, s1), (m2, s2) = _scaling(graph, op, a), _scaling(graph, op, b)
        fields.update(left_shift=LEFT_SHIFT, input1_offset=-a.quant.zp, input1_multiplier=m1, input1_shift=s1,
                      input2_offset=-b.quant.zp, input2_multiplier=m2, input2_shift=s2)
    return lowered(op, "compare", CompareParams, (a, b), y, **fields)


KERNEL = reference_kernel("compare", inplace=ELEMENTWISE)
F32_KERNEL = reference_kernel("compare_f32")  # bool bytes from 4-byte floats: never over its input


def _doc(name: str) -> str:
    types = "/".join(DTYPES.get(name, ORDERED) + ("float32",))
    return (f"{types} -> bool (int8 rescaled as TFLM: scales below 1), broadcast up to rank "
            f"{MAX_BROADCAST_RANK}, constant operands in flash")


SPECS = [OpSpec(name=name, builtin=name.upper(), lower=lower, kernels=(KERNEL, F32_KERNEL),
                quant=QuantRule(2, constants_as_data=True, outcomes=OUTCOMES[name]), doc=_doc(name))
         for name in OUTCOMES]
