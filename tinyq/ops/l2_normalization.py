"""L2_NORMALIZATION, int8 -> int8 on the fixed output grid 1/128 with zero point 0.

Rows run along the last axis. Per row, the int32 sum of squared (x - zero point) goes
through GetInvSqrtQuantizedMultiplierExp (templates/reference/kernels/tq_inv_sqrt.h) to a
multiplier and shift, which scale each (x - zero point) by 2^7 / sqrt(sum). Nothing depends
on the scales: TFLM writes on the 1/128 grid whatever the output tensor says (its Prepare
checks nothing of it), and so does tinyq: a file whose tensor says otherwise runs as in TFLM.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_int8
from tinyq.ops import f32
from tinyq.ops.inplace import ROWWISE
from tinyq.ops.softmax_f32 import lower_softmax_f32

OUTPUT = (1.0 / 128, 0)
MAX_RANK = 4  # TFLM's Prepare: NumDimensions(input) <= 4


@dataclass(frozen=True)
class L2NormOptions:
    fused_activation_function: str = "NONE"


@dataclass(frozen=True)
class L2NormParams:
    outer_size: int
    depth: int
    input_zero_point: int


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if f32.is_float(x):
        return _lower_f32(graph, op, x, y)
    require_int8(graph, op, x, what="input")
    require_int8(graph, op, y, what="output")
    activation = op.options.fused_activation_function
    if activation != "NONE":
        raise unsupported(graph, op, f"fused activation {activation} is not supported",
                          "TFLM's L2_NORMALIZATION takes none")
    if not x.shape or tuple(x.shape) != tuple(y.shape):
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} must have the same "
                                     "shape, of rank 1 or more")
    if len(x.shape) > MAX_RANK:
        raise unsupported(graph, op, f"rank {len(x.shape)} is above TFLM's limit of {MAX_RANK}")
    depth = x.shape[-1]
    params = L2NormParams(outer_size=x.numel // depth, depth=depth, input_zero_point=x.quant.zp)
    return Lowered(op=op, kernel="l2_normalization", params=params, inputs=(x.index,), outputs=(y.index,))


def _lower_f32(graph: Graph, op: Operator, x: Tensor, y: Tensor) -> Lowered:
    """float32: x / max(sqrt(sum of squares), 1e-6) along the last axis."""
    activation = op.options.fused_activation_function
    if activation != "NONE":
        raise unsupported(graph, op, f"fused activation {activation} is not supported",
                          "TFLM's L2_NORMALIZATION takes none")
    if len(x.shape) > MAX_RANK:
        raise unsupported(graph, op, f"rank {len(x.shape)} is above TFLM's limit of {MAX_RANK}")
    return lower_softmax_f32(graph, op, x, y)  # kernel l2_normalization_f32, the softmax kernels' rows


SPECS = [OpSpec(name="l2_normalization", builtin="L2_NORMALIZATION", options=L2NormOptions,
                fb_options="L2NormOptions", lower=lower,
                kernels=(reference_kernel("l2_normalization", inplace=ROWWISE),
                         reference_kernel("l2_normalization_f32", inplace=ROWWISE)),
                quant=QuantRule(2, fixed_output=OUTPUT),
                doc=f"int8 -> int8 written on the 1/128 grid, zero point 0, whatever the output tensor says (as "
                    f"TFLM), any input quantization; float32; last axis, rank 1 to {MAX_RANK}")]
