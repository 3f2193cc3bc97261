"""L2_POOL_2D: refused. TFLM's kernel (kernels/l2_pool_2d.cc) runs float32 only; its
Prepare rejects any other type, so an int8 model with it has no TFLM result to match,
and tinyq generates integer kernels only."""

from __future__ import annotations

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, unsupported
from tinyq.ops.common import io
from tinyq.ops.pooling import Pool2DOptions


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), _ = io(graph, op, 1)
    raise unsupported(graph, op, f"L2_POOL_2D on {x.dtype} is not supported: TFLM's kernel is float32 only",
                      "TFLM cannot run this op on integer tensors either")


SPECS = [OpSpec(name="l2_pool_2d", builtin="L2_POOL_2D", options=Pool2DOptions, fb_options="Pool2DOptions",
                lower=lower, doc="refused: TFLM's kernel is float32 only, so there is no int8 result to match")]
