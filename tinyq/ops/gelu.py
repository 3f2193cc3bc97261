"""GELU, int8: LiteRT's lookup table. TFLM has no GELU kernel; LiteRT (TFLite) has.

TFLM registers no GELU, so no TFLM result exists to match and `tinyq verify` (TFLM's
interpreter) cannot check a model with it. tinyq reproduces LiteRT's int8 kernel instead
(tflite/kernels/activations.cc: GeluPrepare's LUTPopulate, the same float32 table arithmetic
as TFLM's ELU) with the transforms of reference_ops::GeluTransform(Approximate):

    exact:        0.5f * x * erfcf(x * (float)-M_SQRT1_2)
    approximate:  0.5f * x * (1.f + tanhf(kSqrt2dPi * (x + 0.044715f * x * x * x)))

erfcf and tanhf are glibc's (tinyq.libm_f32), as the ai-edge-litert wheel links them; its
reference kernels (BUILTIN_REF op resolver) are the oracle of tests/test_gelu.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyq import libm_f32, qmath
from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, unsupported
from tinyq.ops.lut import LUT, lut_lowered, unary_int8

F = np.float32
MINUS_SQRT1_2 = F(-math.sqrt(0.5))  # static_cast<float>(-M_SQRT1_2)
SQRT_2_OVER_PI = F((2.0 / math.sqrt(math.pi)) * math.sqrt(0.5))  # constexpr float M_2_SQRTPI * M_SQRT1_2


@dataclass(frozen=True)
class GeluOptions:
    approximate: bool = False


def gelu_f32(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return (F(0.5) * x) * libm_f32.erfcf(x * MINUS_SQRT1_2)


def gelu_tanh_f32(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    inner = x + ((F(0.044715) * x) * x) * x
    return (F(0.5) * x) * (F(1.0) + libm_f32.tanhf(SQRT_2_OVER_PI * inner))


def lower(graph: Graph, op: Operator) -> Lowered:
    x = graph.tensor(op.inputs[0]) if op.inputs else None
    if x is not None and x.dtype == "float32":  # the int8 check's hint (quantize it first) cannot help here
        raise unsupported(graph, op, "float32 GELU: TFLM has no GELU kernel, float or int8, so no TFLM build runs "
                                     "this model as it is",
                          "tinyq quantize writes GELU with ops TFLM has (MUL, ADD, LOGISTIC); or write it so and "
                          "re-export")
    x, y = unary_int8(graph, op)
    transform = gelu_tanh_f32 if op.options.approximate else gelu_f32
    table = qmath.float_lut_int8(x.quant.s, x.quant.zp, y.quant.s, y.quant.zp, transform)
    if table is None:
        raise unsupported(graph, op, f"input scale {x.quant.s:.6g} over output scale {y.quant.s:.6g} puts table "
                                     "values beyond int32 (the float-to-int conversion is undefined there)",
                          "the scales are implausible; re-quantize the model")
    return lut_lowered(op, x, y, table)


SPECS = [OpSpec(name="gelu", builtin="GELU", options=GeluOptions, fb_options="GeluOptions", lower=lower,
                kernels=(LUT,),
                doc="int8, exact and approximate, any scales (LiteRT's 256-entry table: TFLM has no GELU, so "
                    "`tinyq verify` cannot check it; tested against LiteRT's reference kernels); `tinyq quantize` "
                    "writes a float GELU as MUL, ADD and LOGISTIC, which TFLM runs")]
