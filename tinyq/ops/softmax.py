"""SOFTMAX: int8 -> int8 (scale 1/256, zero point -128) or int8 -> int16 (1/65536, -32768).

Softmax runs over the last axis; every other axis is a row. Beta and the input
scale fold into one Q5.26 multiplier computed here; the kernel does gemmlowp's
fixed-point exp and reciprocal (templates/reference/kernels/tq_fixedpoint.h).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import SOFTMAX_OUT, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.inplace import ROWWISE
from tinyq.ops.common import io, require_int8


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float = 0.0


@dataclass(frozen=True)
class SoftmaxParams:
    outer_size: int
    depth: int
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    output_bits: int  # 8 or 16: which kernel entry point


@dataclass(frozen=True)
class OutputContract:
    """What TFLM's Prepare demands of the output: the kernel writes probabilities
    on this fixed grid whatever the tensor says, so TFLM refuses anything else."""

    zero_point: int
    scale: float
    exact: bool  # int8 requires scale == 1/256 exactly; int16 within 0.1 %


OUTPUTS = {
    "int8": OutputContract(zero_point=-128, scale=1.0 / 256, exact=True),
    "int16": OutputContract(zero_point=-32768, scale=1.0 / 65536, exact=False),
}


def _check_output(graph: Graph, op: Operator, y: Tensor) -> int:
    contract = OUTPUTS.get(y.dtype)
    if contract is None:
        raise unsupported(graph, op, f"output is {y.dtype}; int8 input needs an int8 or int16 output",
                          "TFLM's int8 SOFTMAX writes int8 or int16")
    if y.quant is None or y.quant.per_channel:
        raise unsupported(graph, op, "output needs per-tensor quantization parameters",
                          "scale 1/256, zero point -128 (int8) as the converter writes them")
    scale = np.float32(y.quant.s)
    want = np.float32(contract.scale)
    scale_ok = scale == want if contract.exact else abs(scale - want) <= np.float32(0.001) * want
    if y.quant.zp != contract.zero_point or not scale_ok:
        raise unsupported(graph, op, f"{y.dtype} output must have scale {contract.scale:.8g} and zero point "
                                     f"{contract.zero_point}, has {float(scale):.8g} and {y.quant.zp}",
                          "TFLM rejects other output quantizations for SOFTMAX; requantize the model")
    return 8 * np.dtype(y.dtype).itemsize


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    require_int8(graph, op, x, what="input")
    output_bits = _check_output(graph, op, y)
    if not x.shape or x.shape != y.shape:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} must have the same "
                                     "shape, of rank 1 or more")
    opts: SoftmaxOptions = op.options
    scaling = qmath.softmax_scaling(opts.beta, x.quant.s)
    if scaling is None:
        raise unsupported(graph, op, f"beta {opts.beta:.6g} times input scale {x.quant.s:.6g} is at most 2^-26",
                          "TFLM aborts on such a softmax; use a larger beta or input scale")
    multiplier, left_shift, diff_min = scaling
    depth = x.shape[-1]
    params = SoftmaxParams(outer_size=x.numel // depth if depth else 0, depth=depth,
                           input_multiplier=multiplier, input_left_shift=left_shift, diff_min=diff_min,
                           output_bits=output_bits)
    return Lowered(op=op, kernel="softmax", params=params, inputs=(x.index,), outputs=(y.index,))


SPECS = [OpSpec(name="softmax", builtin="SOFTMAX", options=SoftmaxOptions, fb_options="SoftmaxOptions",
                lower=lower, kernels=(reference_kernel("softmax", inplace=ROWWISE),),
                quant=QuantRule(2, fixed_output=SOFTMAX_OUT), doc="int8 -> int8 (1/256, -128) or int16 (1/65536, -32768), any beta, last axis")]
