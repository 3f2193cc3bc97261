"""float32 MEAN, SUM, REDUCE_MAX and REDUCE_MIN (templates/reference/kernels/tq_reduce_f32.c).

TFLM folds each input element into its output in the input's memory order (ReduceGeneric,
ReduceSumImpl; its 4-D axes-(1,2) MEAN visits the same elements in the same order): a sum from
0.0f, a maximum from -FLT_MAX keeping `in > current ? in : current`, a minimum from FLT_MAX.
MEAN then divides by the element count as a float. MEAN's loop nests (tinyq/ops/ndloops.py,
reduce_loops) keep the reduced dimensions in that order, so the float sums are TFLM's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, reference_kernel, unsupported
from tinyq.ops.common import io, require_const
from tinyq.ops.ndloops import LoopNest, reduce_loops


@dataclass(frozen=True)
class ReduceF32Params:
    outer: LoopNest
    inner: LoopNest
    count: float  # MEAN's divisor: the reduced element count as a float32


def lower_reduce_f32(graph: Graph, op: Operator) -> Lowered:
    from tinyq.ops.mean import MAX_RANK, _resolve_axes  # mean.py imports this module

    (x, axis_t, *_), (y,) = io(graph, op, 2)
    f32.require_float32(graph, op, x, y)
    require_const(graph, op, axis_t, "axis")
    if axis_t.dtype != "int32":
        raise unsupported(graph, op, f"axis tensor is {axis_t.dtype}; TFLM requires int32", "re-export the model")
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} is above TFLM's limit of {MAX_RANK}", "reshape to fewer dimensions")
    axes = _resolve_axes(graph, op, np.asarray(axis_t.data).reshape(-1), rank)
    kept = [d for i, d in enumerate(x.shape) if i not in axes]
    if y.numel != int(np.prod(kept, dtype=np.int64)):
        raise unsupported(graph, op, f"output {list(y.shape)} does not match input {list(x.shape)} "
                                     f"reduced over axes {list(axes)}")
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    outer, inner = reduce_loops(x.shape, axes)
    params = ReduceF32Params(outer=outer, inner=inner, count=float(np.float32(count)))
    return Lowered(op=op, kernel=op.op + f32.SUFFIX, params=params, inputs=(x.index,), outputs=(y.index,))


KERNELS = {name: reference_kernel(name + f32.SUFFIX) for name in ("mean", "sum", "reduce_max", "reduce_min")}
