"""The inputs verify feeds both sides: edge cases first, then uniform random records."""

from __future__ import annotations

import numpy as np

from tinyq.ir import DTYPES, Graph, Tensor
from tinyq.qmath import real_range


def _input_range(graph: Graph, t: Tensor) -> tuple[float, float]:
    """Float inputs feed a QUANTIZE op: draw from the range its output covers."""
    for op in graph.operators:
        if t.index in op.inputs and op.outputs:
            q = graph.tensors[op.outputs[0]].quant
            if q is not None:
                return real_range(q.s, q.zp)
    return -1.0, 1.0


INDEX_RANGE = 4  # unquantized integer inputs are drawn from [0, 4)


def make_inputs(graph: Graph, n: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Edge cases first (all-min, all-max, all-zero-point), then uniform random records."""
    rng = np.random.default_rng(seed)
    records = []
    for r in range(n):
        record = []
        for i in graph.inputs:
            t = graph.tensors[i]
            np_type = DTYPES[t.dtype][0]
            shape = t.shape  # () for a scalar: TFLM wants the rank-0 array
            if np.issubdtype(np_type, np.floating):
                lo, hi = _input_range(graph, t)
                record.append(rng.uniform(lo, hi, size=shape).astype(np_type))
                continue
            if np_type is np.bool_:  # all false, all true, then random masks
                fill = {0: False, 1: True}.get(r)
                record.append(np.full(shape, fill) if fill is not None else rng.random(shape) < 0.8)
                continue
            if t.quant is None:  # unquantized integers are indices, counts or shapes: small and valid
                record.append(rng.integers(0, INDEX_RANGE, size=shape, dtype=np_type))
                continue
            info = np.iinfo(np_type)
            edge = {0: info.min, 1: info.max, 2: t.quant.zp}
            if r in edge:
                record.append(np.full(shape, edge[r], dtype=np_type))
            else:
                record.append(rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=np_type))
        records.append(record)
    return records
