"""NEG, SQUARE, SQRT, EXP and LOG: float32 only, as TFLM runs them.

TFLM's kernels (neg.cc, exp.cc, elementwise.cc) accept float32 alone: SQUARE, SQRT and
LOG's Prepare rejects any other type, EXP's requires float32, NEG's Eval fails on the
rest. An int8 model with one of them has no TFLM result to match and is refused; a
float32 one runs tinyq's float kernel (tinyq/ops/unary_f32.py), EXP and LOG with glibc's
expf and logf as the golden model computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ops.base import FLOAT_ISLAND, OpSpec
from tinyq.ops.unary_f32 import kernel, lower_float_only


@dataclass(frozen=True)
class NegOptions:
    pass


@dataclass(frozen=True)
class SquareOptions:
    pass


@dataclass(frozen=True)
class ExpOptions:
    pass


_DOC = "float32 only (TFLM's kernel is float-only, so an int8 model with it is refused)"

SPECS = [
    OpSpec(name="neg", builtin="NEG", options=NegOptions, fb_options="NegOptions", lower=lower_float_only,
           kernels=(kernel("neg"),), quant=FLOAT_ISLAND, doc=_DOC),
    OpSpec(name="square", builtin="SQUARE", options=SquareOptions, fb_options="SquareOptions",
           lower=lower_float_only, kernels=(kernel("square"),), quant=FLOAT_ISLAND, doc=_DOC),
    OpSpec(name="sqrt", builtin="SQRT", lower=lower_float_only, kernels=(kernel("sqrt"),), quant=FLOAT_ISLAND,
           doc=_DOC + "; correctly rounded"),
    OpSpec(name="exp", builtin="EXP", options=ExpOptions, fb_options="ExpOptions", lower=lower_float_only,
           kernels=(kernel("exp"),), quant=FLOAT_ISLAND,
           doc=_DOC + "; glibc's expf (its x86-64 FMA build) in plain C on every target"),
    OpSpec(name="log", builtin="LOG", lower=lower_float_only, kernels=(kernel("log"),), quant=FLOAT_ISLAND,
           doc=_DOC + "; glibc's logf (its x86-64 FMA build) in plain C on every target"),
]
