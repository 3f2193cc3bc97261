"""float32 SOFTMAX and LOG_SOFTMAX: TFLM's reference float kernels over the last axis
(templates/reference/kernels/tq_softmax_f32.c), exp and log as the golden model's glibc computes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32
from tinyq.ops.base import Lowered, reference_kernel, unsupported
from tinyq.ops.inplace import ROWWISE


@dataclass(frozen=True)
class SoftmaxF32Params:
    outer_size: int
    depth: int
    beta: float  # float32, as TFLM's static_cast<float>(params.beta)


def lower_softmax_f32(graph: Graph, op: Operator, x: Tensor, y: Tensor, beta: float = 1.0) -> Lowered:
    f32.require_float32(graph, op, x, y)
    if not x.shape or tuple(x.shape) != tuple(y.shape):
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} must have the same "
                                     "shape, of rank 1 or more")
    depth = x.shape[-1]
    params = SoftmaxF32Params(outer_size=x.numel // depth, depth=depth, beta=float(np.float32(beta)))
    return Lowered(op=op, kernel=op.op + f32.SUFFIX, params=params, inputs=(x.index,), outputs=(y.index,))


SOFTMAX_KERNEL = reference_kernel("softmax_f32", inplace=ROWWISE)
LOG_SOFTMAX_KERNEL = reference_kernel("log_softmax_f32", inplace=ROWWISE)
