"""Attention masks of -inf become finite before calibration.

PyTorch's masked attention (nn.MultiheadAttention's attn_mask and key_padding_mask,
F.scaled_dot_product_attention(is_causal=True)) exports through litert-torch as an ADD of the scores and a
constant holding 0 where a position is kept and -inf where it is masked, before the SOFTMAX. No integer
scale covers -inf, and a finite stand-in far below the scores (PyTorch's -1e9) would widen the ADD's range
until every score quantizes to one level. The stand-in here is just low enough: the scores' range on the
calibration data below the lowest of them, and MASK_MARGIN more, so that every masked position lies at
least MASK_MARGIN below any row's largest kept one, and the softmax gives it exp(-12) = 6e-6 of that one,
under half a step of its int8 or int16 output (TFLM's int16 softmax reads no lower than -10 anyway). The
ADD's range then spans about twice the scores' range plus the margin.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.quantize.floatrun import FloatRunner

MASK_MARGIN = 12.0
MASK_SAMPLES = 64  # calibration samples whose scores set the stand-in


# ops between the ADD and the softmax that move values without changing them
MOVES = frozenset({"reshape", "transpose", "squeeze", "expand_dims"})


def _softmax_only(graph: Graph, t: int) -> bool:
    """Whether every use of tensor t is a softmax, through ops that only move values."""
    users = [op for op in graph.operators if t in op.inputs]
    return bool(users) and t not in graph.outputs and all(
        op.op in ("softmax", "log_softmax") or (op.op in MOVES and _softmax_only(graph, op.outputs[0]))
        for op in users)


def mask_operand(graph: Graph, op: Operator) -> tuple[Tensor, Tensor] | None:
    """(the mask, the scores) of an ADD of computed float scores and a constant holding -inf and otherwise
    finite values, whose sum goes to a softmax only; else None."""
    if op.op != "add" or len(op.inputs) != 2 or len(op.outputs) != 1 or not _softmax_only(graph, op.outputs[0]):
        return None
    a, b = graph.op_inputs(op)
    for mask, scores in ((a, b), (b, a)):
        if mask is not None and scores is not None and mask.is_const and not scores.is_const and \
                mask.dtype == scores.dtype == "float32" and mask.numel and np.any(np.isneginf(mask.data)) and \
                np.all(np.isfinite(mask.data) | np.isneginf(mask.data)):
            return mask, scores
    return None


def finite_masks(graph: Graph, calib) -> Graph:
    """`graph` with each -inf of an ADD's mask replaced by a finite value below the scores (module docstring),
    from the scores' range on the first MASK_SAMPLES records of `calib`."""
    masked = [m for m in (mask_operand(graph, op) for op in graph.operators) if m is not None]
    if not masked:
        return graph
    runner = FloatRunner(graph)
    scores = sorted({s.index for _, s in masked})
    lo, hi = {t: np.inf for t in scores}, {t: -np.inf for t in scores}
    for record in calib.records(graph, MASK_SAMPLES):
        for t, values in runner.run(record, scores).items():
            lo[t], hi[t] = min(lo[t], float(np.min(values))), max(hi[t], float(np.max(values)))
    stand_ins: dict[int, float] = {}  # a mask several ADDs share takes the lowest of theirs
    for mask, s in masked:
        kept = mask.data[np.isfinite(mask.data)]
        lowest_kept = min(float(kept.min()), 0.0) if kept.size else 0.0
        stand_in = lowest_kept - (hi[s.index] - lo[s.index]) - MASK_MARGIN
        stand_ins[mask.index] = min(stand_in, stand_ins.get(mask.index, stand_in))
    tensors = list(graph.tensors)
    for t, stand_in in stand_ins.items():
        data = tensors[t].data
        finite = np.where(np.isneginf(data), np.float32(stand_in), data).astype(np.float32)
        finite.flags.writeable = False
        tensors[t] = replace(tensors[t], data=finite)
    return replace(graph, tensors=tuple(tensors))
