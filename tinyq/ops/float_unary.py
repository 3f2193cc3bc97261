"""NEG, SQUARE, SQRT, EXP and LOG: refused. TFLM runs them on float32 only.

TFLM's kernels (neg.cc, exp.cc, elementwise.cc) accept float32 alone: SQUARE, SQRT and
LOG's Prepare rejects any other type, EXP's requires float32, NEG's Eval fails on the
rest. An int8 model with one of them has no TFLM result to match, and tinyq generates
integer kernels only; float models are a separate matter (TFLite's own int8 EXP and LOG
are not in TFLM).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, unsupported
from tinyq.ops.common import io


@dataclass(frozen=True)
class NegOptions:
    pass


@dataclass(frozen=True)
class SquareOptions:
    pass


@dataclass(frozen=True)
class ExpOptions:
    pass


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), _ = io(graph, op, 1)
    builtin = op.op.upper()
    raise unsupported(graph, op, f"{builtin} on {x.dtype} is not supported: TFLM's kernel is float32 only",
                      "TFLM has no integer kernel for it; tinyq lowers integer models")


_DOC = "refused: TFLM's kernel is float32 only, so there is no int8 result to match"

SPECS = [
    OpSpec(name="neg", builtin="NEG", options=NegOptions, fb_options="NegOptions", lower=lower, doc=_DOC),
    OpSpec(name="square", builtin="SQUARE", options=SquareOptions, fb_options="SquareOptions", lower=lower,
           doc=_DOC),
    OpSpec(name="sqrt", builtin="SQRT", lower=lower, doc=_DOC),
    OpSpec(name="exp", builtin="EXP", options=ExpOptions, fb_options="ExpOptions", lower=lower, doc=_DOC),
    OpSpec(name="log", builtin="LOG", lower=lower, doc=_DOC),
]
