"""ELU, int8: TFLM's lookup table (elu.cc), built here with its float32 arithmetic.

TFLM's Prepare fills 256 entries: dequantize in float32, exp(x) - 1 below zero (std::exp
of a float: expf, reproduced by tinyq.libm_f32.expf), x elsewhere, times 1 / s_out, std::round, plus
the output zero point, clamped to int8. tinyq computes the same table offline and runs it
with the shared lookup kernel (tinyq/ops/lut.py).
"""

from __future__ import annotations

import numpy as np

from tinyq import libm_f32, qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.unary_f32 import kernel as f32_kernel, lower_unary_f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, unsupported
from tinyq.ops.lut import LUT, lut_lowered, unary_int8


def elu_f32(x: np.ndarray) -> np.ndarray:
    """TFLM's transform, in float32: value < 0 ? std::exp(value) - 1.0f : value."""
    x = np.asarray(x, dtype=np.float32)
    return np.where(x < np.float32(0), libm_f32.expf(x) - np.float32(1), x).astype(np.float32)


def lower(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):  # Elu (float): x < 0 ? expm1(x) : x
        return lower_unary_f32(graph, op)
    x, y = unary_int8(graph, op)
    table = qmath.float_lut_int8(x.quant.s, x.quant.zp, y.quant.s, y.quant.zp, elu_f32)
    if table is None:
        raise unsupported(graph, op, f"input scale {x.quant.s:.6g} over output scale {y.quant.s:.6g} puts table "
                                     "values beyond int32 (TFLM's float-to-int conversion is undefined there)",
                          "the scales are implausible; re-quantize the model")
    return lut_lowered(op, x, y, table)


SPECS = [OpSpec(name="elu", builtin="ELU", lower=lower, kernels=(LUT, f32_kernel("elu")), quant=QuantRule(1),
                doc="int8, any scales and zero points (TFLM's 256-entry table, computed offline, in flash); "
                    "float32 (glibc's expm1f)")]
