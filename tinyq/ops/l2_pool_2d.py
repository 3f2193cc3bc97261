"""L2_POOL_2D: float32 only, as TFLM (kernels/l2_pool_2d.cc: its Prepare rejects any other type,
so an integer model with it has no TFLM result to match)."""

from __future__ import annotations

from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import FLOAT_ISLAND, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.inplace import CHANNEL_WINDOW
from tinyq.ops.pooling import Pool2DOptions, lower_f32


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    if not f32.is_float(x):
        raise unsupported(graph, op, f"L2_POOL_2D on {x.dtype} is not supported: TFLM's kernel is float32 only",
                          "TFLM cannot run this op on integer tensors either")
    return lower_f32(graph, op, x, y)


SPECS = [OpSpec(name="l2_pool_2d", builtin="L2_POOL_2D", options=Pool2DOptions, fb_options="Pool2DOptions",
                lower=lower, kernels=(reference_kernel("l2_pool_2d_f32", inplace=CHANNEL_WINDOW),), quant=FLOAT_ISLAND,
                doc="float32 only (TFLM's kernel is float-only): sqrt of the window's mean square, any window, "
                    "stride, SAME/VALID padding, fused activation")]
