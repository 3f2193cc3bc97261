"""Attention masks of -inf (or -1e9, -FLT_MAX) become just low enough before calibration.

PyTorch's masked attention (nn.MultiheadAttention's attn_mask and key_padding_mask,
F.scaled_dot_product_attention(is_causal=True), nn.Transformer's masks) exports through litert-torch as an
ADD of the scores and a constant holding 0 where a position is kept and -inf (or -FLT_MAX) where it is
masked, before the SOFTMAX (or of a mask a SELECT_V2 builds at run time from a bool, between -FLT_MAX and 0:
torchaudio's Conformer); `scores.masked_fill(mask, -1e9)` as a SELECT_V2 of the scores and -1e9. No
integer scale covers -inf, and -1e9 would widen the range until every score quantizes to one level. The
stand-in here is just low enough: for an ADD, the scores' range on the calibration data below the lowest
kept mask value (0), and MASK_MARGIN more, so that every masked position lies at least MASK_MARGIN below any
row's largest kept one; for a SELECT_V2's fill, MASK_MARGIN below the lowest score. The softmax then gives a
masked position exp(-12) = 6e-6 of the largest, under half a step of its int8 or int16 output (TFLM's int16
softmax reads no lower than -10 anyway). The ADD's range spans about twice the scores' range plus the margin.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.qparams import VALUE_LIMIT

MASK_MARGIN = 12.0
MASK_SAMPLES = 64  # calibration samples whose scores set the stand-in
MASKED_AT = -1e4  # a mask value this low masks (Hugging Face's float16 masks use -1e4, others -1e9 or -FLT_MAX)


# ops between the ADD and the softmax that move values without changing them
MOVES = frozenset({"reshape", "transpose", "squeeze", "expand_dims"})


def _softmax_only(graph: Graph, t: int) -> bool:
    """Whether every use of tensor t is a softmax, through ops that only move values."""
    users = [op for op in graph.operators if t in op.inputs]
    return bool(users) and t not in graph.outputs and all(
        op.op in ("softmax", "log_softmax") or (op.op in MOVES and _softmax_only(graph, op.outputs[0]))
        for op in users)


def mask_operand(graph: Graph, op: Operator) -> tuple[Tensor, Tensor] | None:
    """(the mask, the scores) of an ADD of computed float scores and a constant mask, or of a SELECT_V2
    between computed scores and a constant fill, whose result goes to a softmax only and where the constant
    masks (MASKED_AT or below: -inf, -FLT_MAX, -1e9); else None."""
    if op.op not in ("add", "select_v2") or len(op.outputs) != 1 or not _softmax_only(graph, op.outputs[0]):
        return None
    values = graph.op_inputs(op)[-2:]
    for mask, scores in (values, values[::-1]):
        if mask is not None and scores is not None and mask.is_const and not scores.is_const and \
                mask.dtype == scores.dtype == "float32" and mask.numel and np.any(mask.data <= MASKED_AT) and \
                np.all(np.isfinite(mask.data) | np.isneginf(mask.data)) and np.max(mask.data) <= VALUE_LIMIT:
            return mask, scores
    return None


def _to_softmax_adds(graph: Graph, t: int) -> list[tuple[Operator, Tensor]] | None:
    """The ADDs tensor t reaches through ops that only move values, each with its computed float operand, when
    every use of t ends in such an ADD whose sum goes to a softmax only; else None."""
    users = [op for op in graph.operators if t in op.inputs]
    if not users or t in graph.outputs:
        return None
    found = []
    for op in users:
        if op.op in MOVES:
            more = _to_softmax_adds(graph, op.outputs[0])
            if more is None:
                return None
            found += more
            continue
        if op.op != "add" or len(op.inputs) != 2 or len(op.outputs) != 1 or not _softmax_only(graph, op.outputs[0]):
            return None
        other = graph.tensor(op.inputs[1] if op.inputs[0] == t else op.inputs[0])
        if other is None or other.is_const or other.dtype != "float32":
            return None
        found.append((op, other))
    return found


def run_time_mask(graph: Graph, op: Operator) -> tuple[Tensor, Tensor, list[tuple[Operator, Tensor]]] | None:
    """(the fill, the kept value, the ADDs with their scores) of a SELECT_V2 that builds an additive mask at run
    time from a bool, between two float constants (torchaudio's Conformer: its key padding mask as
    select_v2(padding, -FLT_MAX, 0), reshaped and added to the scores before the softmax); else None."""
    if op.op != "select_v2" or len(op.inputs) != 3 or len(op.outputs) != 1:
        return None
    a, b = graph.op_inputs(op)[1:]
    for fill, kept in ((a, b), (b, a)):
        if fill is not None and kept is not None and fill.is_const and kept.is_const and \
                fill.dtype == kept.dtype == "float32" and fill.numel and kept.numel and \
                np.all(fill.data <= MASKED_AT) and np.all(np.isfinite(fill.data) | np.isneginf(fill.data)) and \
                np.all(kept.data > MASKED_AT) and np.max(np.abs(kept.data)) <= VALUE_LIMIT:
            adds = _to_softmax_adds(graph, op.outputs[0])
            if adds:
                return fill, kept, adds
    return None


def finite_masks(graph: Graph, calib) -> Graph:
    """`graph` with each masking value (MASKED_AT or below) of a mask replaced by a finite one just below the
    scores (module docstring), from their range on the first MASK_SAMPLES records of `calib`."""
    masked = [(op, m) for op, m in ((op, mask_operand(graph, op)) for op in graph.operators) if m is not None]
    built = [m for m in (run_time_mask(graph, op) for op in graph.operators) if m is not None]
    if not masked and not built:
        return graph
    runner = FloatRunner(graph)
    scores = sorted({s.index for _, (_, s) in masked} | {s.index for _, _, adds in built for _, s in adds})
    lo, hi = {t: np.inf for t in scores}, {t: -np.inf for t in scores}
    for record in calib.records(graph, MASK_SAMPLES):
        for t, values in runner.run(record, scores).items():
            lo[t], hi[t] = min(lo[t], float(np.min(values))), max(hi[t], float(np.max(values)))
    stand_ins: dict[int, float] = {}  # a mask several ops share takes the lowest of theirs
    for op, (mask, s) in masked:
        if op.op == "add":  # the masked sums must lie below the kept ones, whatever their scores
            kept = mask.data[mask.data > MASKED_AT]
            stand_in = min(float(kept.min()) if kept.size else 0.0, 0.0) - (hi[s.index] - lo[s.index]) - MASK_MARGIN
        else:  # a SELECT_V2's fill replaces the scores
            stand_in = lo[s.index] - MASK_MARGIN
        stand_ins[mask.index] = min(stand_in, stand_ins.get(mask.index, stand_in))
    for fill, kept, adds in built:  # as an ADD's mask, its kept value in place of the constant's kept ones
        spread = max(hi[s.index] - lo[s.index] for _, s in adds)
        stand_in = min(float(kept.data.min()), 0.0) - spread - MASK_MARGIN
        stand_ins[fill.index] = min(stand_in, stand_ins.get(fill.index, stand_in))
    tensors = list(graph.tensors)
    for t, stand_in in stand_ins.items():
        data = tensors[t].data
        finite = np.where(data <= MASKED_AT, np.float32(stand_in), data).astype(np.float32)
        finite.flags.writeable = False
        tensors[t] = replace(tensors[t], data=finite)
    return replace(graph, tensors=tuple(tensors))
