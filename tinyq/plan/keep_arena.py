"""The fast backend at the reference kernels' memory (the default; `--arena fast` turns it off):
where an optimized kernel's scratch or missing in-place rule would make a model's arena larger
than with tinyq's reference kernels, that op runs the next kernel of its chain that does not
(bind.candidates).

Scratch is planned in the arena like any buffer, live only at its op, so it costs memory only at
the model's peak; there the chain offers a kernel with the reference's memory facts before the
reference kernel itself: on Helium, tq_mve_conv_single_s8 (tinyq/backends/tq_mve_single) runs
tq_mve_conv_s8's packed weights one pixel at a time with no scratch and the reference's in-place
rule. The search starts from every op at its first kernel whose memory facts (scratch, in-place
shift) are the reference kernel's, which plans exactly the reference arena, then gives each op
back the fastest kernel that keeps the arena within it, heaviest ops first. Most models keep
every optimized kernel: only the ops at the peak can move.
"""

from __future__ import annotations

import dataclasses

from tinyq.bind import BoundGraph, BoundOp, bind_op, candidates
from tinyq.backends import get_backend
from tinyq.plan.memory import plan_memory


def arena_bytes(bound: BoundGraph) -> int:
    return plan_memory(bound).arena_bytes


def _shift(op: BoundOp):
    return op.inplace.shift if op.inplace is not None else None


def _same_memory(op: BoundOp, reference: BoundOp) -> bool:
    return (op.scratch_bytes, _shift(op)) == (reference.scratch_bytes, _shift(reference))


def _weight(op: BoundOp, graph) -> int:
    """How much an op gains from a fast kernel, roughly its multiply-accumulates: weights (or
    elements) times output elements."""
    k = op.lowered
    weights = max((c.values.size for c in k.consts), default=1)
    return weights * sum(graph.tensors[t].numel for t in k.outputs)


def keep_reference_arena(bound: BoundGraph, shared: dict[int, tuple[int, ...]]) -> BoundGraph:
    """`bound` with the ops that would raise the arena above the reference kernels' run by the next
    kernel of their chain that does not (unchanged when nothing does)."""
    target = bound.target
    reference = tuple(bind_op(k, get_backend("reference"), target) for k in bound.lowered.ops)
    limit = arena_bytes(dataclasses.replace(bound, ops=reference))
    if arena_bytes(bound) <= limit:
        return bound
    options = [list(candidates(b.lowered, bound.backend, target, shared.get(p, ()))) for p, b in enumerate(bound.ops)]
    chosen = [next(i for i, o in enumerate(opts) if _same_memory(o, ref) or i == len(opts) - 1)
              for opts, ref in zip(options, reference)]

    def graph() -> BoundGraph:
        return dataclasses.replace(bound, ops=tuple(opts[i] for opts, i in zip(options, chosen)))

    if arena_bytes(graph()) > limit:  # the reference kernels' facts plan the reference arena
        chosen = [len(opts) - 1 for opts in options]
    moved = [p for p, i in enumerate(chosen) if i > 0]
    for position in sorted(moved, key=lambda p: -_weight(bound.ops[p], bound.graph)):
        keep = chosen[position]
        for faster in range(keep):
            chosen[position] = faster
            if arena_bytes(graph()) <= limit:
                break
        else:
            chosen[position] = keep
    return graph()
