"""The fast backend at the reference kernels' memory: where an optimized kernel's scratch, stack
buffer or missing in-place rule would make a model need more RAM than with tinyq's reference
kernels, that op runs the next kernel of its chain that does not (bind.candidates).

RAM here is the planned arena plus the largest stack buffer a kernel keeps instead of arena
scratch under that plan (`footprint`; tq_mve_conv_s8 holds a pixel only where the plan overlaps
its output with its input). The search starts from every op at its first kernel whose memory facts
(scratch, stack, in-place shift) are the reference kernel's, which plans exactly the reference
arena, then gives each op back the fastest kernel that keeps the footprint within it, heaviest
ops first. Most models keep every optimized kernel: only the ops at the peak can move it.
"""

from __future__ import annotations

import dataclasses

from tinyq.bind import BoundGraph, BoundOp, bind_op, candidates
from tinyq.backends import get_backend
from tinyq.plan.memory import MemoryPlan, plan_memory


def footprint(bound: BoundGraph) -> int:
    """The arena plus the largest stack buffer any kernel keeps instead of scratch, as planned."""
    plan = plan_memory(bound)
    return plan.arena_bytes + kernel_stack(bound, plan)[0]


def kernel_stack(bound: BoundGraph, plan: MemoryPlan) -> tuple[int, int | None]:
    """(bytes, op position) of the largest stack buffer a kernel keeps under `plan` (0, None: none)."""
    in_place = {a.position for a in plan.aliases if a.kind == "in-place"}
    sizes = [b.stack_of(bound.target, p in in_place) for p, b in enumerate(bound.ops)]
    biggest = max(range(len(sizes)), key=sizes.__getitem__, default=None)
    return (sizes[biggest], biggest) if biggest is not None and sizes[biggest] else (0, None)


def _shift(op: BoundOp):
    return op.inplace.shift if op.inplace is not None else None


def _same_memory(op: BoundOp, reference: BoundOp) -> bool:
    return (op.scratch_bytes, op.stack_bytes, _shift(op)) == (reference.scratch_bytes, 0, _shift(reference))


def _weight(op: BoundOp, graph) -> int:
    """How much an op gains from a fast kernel, roughly its multiply-accumulates: weights (or
    elements) times output elements."""
    k = op.lowered
    weights = max((c.values.size for c in k.consts), default=1)
    return weights * sum(graph.tensors[t].numel for t in k.outputs)


def keep_reference_arena(bound: BoundGraph) -> BoundGraph:
    """`bound` with the ops that would raise the memory above the reference kernels' run by the next
    kernel of their chain that does not (unchanged when nothing does)."""
    target = bound.target
    reference = tuple(bind_op(k, get_backend("reference"), target) for k in bound.lowered.ops)
    limit = footprint(dataclasses.replace(bound, ops=reference))
    if footprint(bound) <= limit:
        return bound
    options = [list(candidates(b.lowered, bound.backend, target)) for b in bound.ops]
    chosen = [next(i for i, o in enumerate(opts) if _same_memory(o, ref) or i == len(opts) - 1)
              for opts, ref in zip(options, reference)]

    def graph() -> BoundGraph:
        return dataclasses.replace(bound, ops=tuple(opts[i] for opts, i in zip(options, chosen)))

    if footprint(graph()) > limit:  # the reference kernels' facts plan the reference arena
        chosen = [len(opts) - 1 for opts in options]
    moved = [p for p, i in enumerate(chosen) if i > 0]
    for position in sorted(moved, key=lambda p: -_weight(bound.ops[p], bound.graph)):
        keep = chosen[position]
        for faster in range(keep):
            chosen[position] = faster
            if footprint(graph()) <= limit:
                break
        else:
            chosen[position] = keep
    return graph()
