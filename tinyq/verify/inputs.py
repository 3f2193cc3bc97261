"""The inputs verify feeds both sides: edge cases first, then uniform random records."""

from __future__ import annotations

import math

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


INDEX_RANGE = 4  # unquantized integer inputs are drawn from [0, 4), or fewer values where an op indexes with them


def _index_bound(graph: Graph, t: Tensor) -> np.ndarray | int:
    """The exclusive upper bound of an index input's values: INDEX_RANGE, or less where GATHER, GATHER_ND
    or EMBEDDING_LOOKUP index a smaller dimension with it (TFLM's Eval fails outside it, and so does the
    generated code: verify stopped at the first such record). GATHER_ND's bound is per index component."""
    bound: np.ndarray | int = INDEX_RANGE
    for op in graph.operators:
        ins = [graph.tensor(i) for i in op.inputs]
        if len(ins) < 2 or ins[0] is None or ins[1] is None:
            continue
        data, indices = (ins[1], ins[0]) if op.op == "embedding_lookup" else (ins[0], ins[1])
        if indices.index != t.index or not data.shape:
            continue
        if op.op == "embedding_lookup":
            dims = data.shape[0]
        elif op.op == "gather":
            axis = int(getattr(op.options, "axis", 0))
            if not -len(data.shape) <= axis < len(data.shape):
                continue
            dims = data.shape[axis]
        elif op.op == "gather_nd" and t.shape and t.shape[-1] <= len(data.shape):
            dims = np.array(data.shape[:t.shape[-1]], dtype=np.int64)  # broadcasts along the indices' last axis
        else:
            continue
        if np.all(np.asarray(dims) > 0):
            bound = np.minimum(bound, dims)
    return bound


def _integer_floor(graph: Graph, t: Tensor) -> int | float:
    """The lowest value to draw for a quantized integer input: its zero point where RSQRT reads it (TFLM's
    Eval fails below: 'Rsqrt is only defined for positive values'), else no floor above the type's lowest."""
    if t.quant is not None and any(op.op == "rsqrt" and op.inputs[:1] == (t.index,) for op in graph.operators):
        return t.quant.zp
    return -math.inf


def make_inputs(graph: Graph, n: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Edge cases first (all-min, all-max, all-zero-point), then uniform random records."""
    rng = np.random.default_rng(seed)
    bounds = {i: _index_bound(graph, graph.tensors[i]) for i in graph.inputs}
    floors = {i: _integer_floor(graph, graph.tensors[i]) for i in graph.inputs}
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
                record.append(rng.integers(0, bounds[i], size=shape, dtype=np_type))
                continue
            info = np.iinfo(np_type)
            lowest = max(int(info.min), floors[i])
            edge = {0: lowest, 1: info.max, 2: t.quant.zp}
            if r in edge:
                record.append(np.full(shape, edge[r], dtype=np_type))
            else:
                record.append(rng.integers(lowest, info.max, size=shape, endpoint=True, dtype=np_type))
        records.append(record)
    return records
