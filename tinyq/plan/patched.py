"""A bound graph with its first stage run in patches: the stage becomes one op, planned as usual.

`fuse` replaces the stage's ops by one op, `patch_stage` (templates/reference/patch_stage.c.j2),
that reads no arena tensor (its input is streamed a band of rows at a time), writes the stage's
output, and holds the band and the patch workspace as scratch. The stage's layers keep tinyq's
reference kernels whatever the backend (the patch loop rewrites their parameter blocks per tile);
the rest of the graph keeps the backend's kernels. The planner (memory.py) then sees an ordinary
graph: it plans it with the streamed input left out of the arena, and proves the plan.

`choose` picks the stage (how many layers) and how it runs: line by line (PatchStage.lines:
nothing recomputed, window-sized bands) or in a grid of tiles. Every prefix of the patchable chain
(patches.chain), line by line and in every grid up to MAX_GRID per axis, is scored by a lower bound
of its arena (the exact planner runs on the best few); the smallest arena wins, and among plans
within TOLERANCE of it, the one computing the fewest MACs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tinyq.backends import get_backend
from tinyq.bind import BoundGraph, BoundOp, bind_op
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.lower import LoweredGraph
from tinyq.ops.base import Kernel, Lowered
from tinyq.plan.buffers import align_up
from tinyq.plan.memory import MemoryPlan, layout, plan_memory
from tinyq.plan.patches import MAX_GRID, PATCHABLE, PatchRequest, PatchStage, chain, make_stage, network_macs

PATCH_KERNEL = Kernel(name="patch_stage", template="reference/patch_stage.c.j2",
                      doc="a stage of layers run patch by patch or line by line from a streamed input "
                          "(tinyq/plan/patches.py)")
PATCH_LAYER = "patches"
TOLERANCE = 1.05  # auto: plans within 5% of the smallest arena compete on recomputation
EXACT_PLANS = 4  # auto: candidates planned exactly (the rest are scored by their bound)


@dataclass(frozen=True, eq=False)
class PatchCall:
    """The fused op's parameters: the stage and each layer's reference-bound op."""

    stage: PatchStage
    layers: tuple[BoundOp, ...]

    @property
    def param_types(self) -> tuple[str, ...]:
        return tuple(PATCHABLE[b.lowered.kernel] for b in self.layers)

    def view(self, index: int, k, sym: str) -> "LayerView":
        return LayerView(self.layers[index], index, k, sym)


class LayerView:
    """What a layer's reference call template sees inside the patch loop (in place of a
    KernelView): its parameter block `sym`, the fused op's arrays named l<index>_<name>, and
    the loop's region pointers `x` (input) and `y` (output)."""

    def __init__(self, op: BoundOp, index: int, k, sym: str):
        self.bound, self.lowered, self.params, self.function = op, op.lowered, op.lowered.params, op.function
        self.sym, self.scratch, self.scratch_bytes = sym, "NULL", 0
        self._k, self._prefix = k, f"l{index}_"

    def const(self, name: str) -> str:
        return self._k.const(self._prefix + name)

    def has_const(self, name: str) -> bool:
        return self._k.has_const(self._prefix + name)

    def const_values(self, name: str) -> list:
        return self.lowered.const(name).reshape(-1).tolist()

    def input(self, i: int = 0) -> str:
        return "x"

    def output(self, i: int = 0) -> str:
        return "y"


@dataclass(frozen=True, eq=False)
class Patched:
    bound: BoundGraph  # the graph with the stage fused, what is generated
    plan: MemoryPlan
    stage: PatchStage


def fuse(bound: BoundGraph, stage: PatchStage) -> BoundGraph:
    """`bound` with the stage's ops replaced by one patch_stage op at the last one's position."""
    lowered = bound.lowered
    reference = get_backend("reference")
    layers = tuple(bind_op(lowered.ops[layer.position], reference, bound.target) for layer in stage.layers)
    consts = tuple(replace(c, name=f"l{i}_{c.name}") for i, b in enumerate(layers) for c in b.consts)
    last = stage.layers[-1].position
    k = Lowered(op=lowered.ops[last].op, kernel=PATCH_KERNEL.name, params=PatchCall(stage, layers), inputs=(),
                outputs=(stage.output,), consts=consts)
    fused = BoundOp(lowered=k, kernel=PATCH_KERNEL, layer=PATCH_LAYER, function="", consts=consts,
                    scratch_bytes=stage.scratch_bytes)
    drop = {layer.position for layer in stage.layers} - {last}
    keep = [p for p in range(len(lowered.ops)) if p not in drop]
    ops = tuple(fused if p == last else bound.ops[p] for p in keep)
    return replace(bound, lowered=LoweredGraph(graph=lowered.graph, ops=tuple(b.lowered for b in ops)), ops=ops)


def _streamed(bound: BoundGraph) -> BoundGraph:
    """The graph the planner sees: the streamed input is no graph input, so it gets no bytes."""
    graph = replace(bound.graph, inputs=())
    return replace(bound, lowered=replace(bound.lowered, graph=graph))


def plan_patched(bound: BoundGraph, stage: PatchStage) -> tuple[BoundGraph, MemoryPlan]:
    fused = fuse(bound, stage)
    return fused, plan_memory(_streamed(fused))


def _rest_bound(bound: BoundGraph, stage: PatchStage) -> int:
    """The live-set lower bound of the fused graph in file order with the stage's scratch left out:
    what the layers after the stage need, whatever the grid."""
    planning = _streamed(fuse(bound, stage))
    rules = tuple(b.inplace for b in planning.ops)
    scratch = tuple(0 if b.kernel is PATCH_KERNEL else b.scratch_bytes for b in planning.ops)
    return layout(planning.lowered, range(len(planning.ops)), rules, scratch).bound


def candidates(bound: BoundGraph, request: PatchRequest = PatchRequest(), max_grid: int = MAX_GRID
               ) -> list[tuple[int, PatchStage]]:
    """(estimated arena, stage) of every stage (a prefix of the chain) run line by line and in the
    grid asked for, or in every grid up to max_grid per axis. The estimate is a lower bound: the
    larger of what the rest of the graph needs and the stage's own step (output, band, workspace)."""
    layers = chain(bound.lowered)
    found = []
    for n in range(1, len(layers) + 1):
        h, w, _ = layers[n - 1].out_shape
        stages = [make_stage(bound.lowered, layers[:n], (1, 1), lines=True)] if "lines" in request.modes else []
        if "patches" in request.modes:
            grids = [request.grid] if request.grid else [(r, c) for r in range(1, min(h, max_grid) + 1)
                                                         for c in range(1, min(w, max_grid) + 1) if r * c > 1]
            stages += [make_stage(bound.lowered, layers[:n], g) for g in grids]
        rest = _rest_bound(bound, stages[0]) if stages else 0
        for stage in stages:
            own = align_up(bound.graph.tensors[stage.output].nbytes, 16) + stage.scratch_bytes
            found.append((max(rest, own), stage))
    return found


def choose(bound: BoundGraph, request: PatchRequest = PatchRequest()) -> Patched:
    """The stage, and how it runs, with the smallest verified arena (see the module's docstring)."""
    if getattr(bound, "subgraphs", ()):
        raise TinyqError("patches and control flow (subgraphs) do not mix", where="graph",
                         hint="drop --patches for this model")
    total = network_macs(bound.lowered)
    scored = [(e, s) for e, s in candidates(bound, request)
              if request.max_recompute is None or total + s.macs - s.untiled_macs <= request.max_recompute * total]
    if not scored:
        raise UnsupportedError("no stage to run in patches", where="graph",
                               hint="patches need one int8 input read by a chain of conv_2d / depthwise_conv_2d / "
                                    "max_pool_2d / average_pool_2d ops, batch 1")
    least = min(e for e, _ in scored)
    near = sorted(((s.macs, e, i) for i, (e, s) in enumerate(scored) if e <= least * TOLERANCE))
    smallest = sorted((e, s.macs, i) for i, (e, s) in enumerate(scored))
    picks = dict.fromkeys([i for *_, i in smallest[:EXACT_PLANS]] + [i for *_, i in near[:EXACT_PLANS]])
    plans = []
    for i in picks:
        fused, plan = plan_patched(bound, scored[i][1])
        plans.append((plan.arena_bytes, scored[i][1].macs, i, fused, plan))
    best = min(p[0] for p in plans)
    _, _, i, fused, plan = min((p for p in plans if p[0] <= best * TOLERANCE), key=lambda p: (p[1], p[0]))
    return Patched(fused, plan, scored[i][1])
