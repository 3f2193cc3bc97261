"""The bind stage: each lowered op gets the kernel that will run it on the target.

For every op, the backend's layers are tried in order (e.g. tinyq's Helium
kernels, then CMSIS-NN), the reference kernels last; the first `Kernel` whose
`applies` is None wins, and every layer above it records why it did not apply.
The result fixes everything later stages need: the call template, the library
function, the flash arrays the call reads, the scratch on this target and the
in-place rule of the code that runs (chosen by that function and code path where
the layer's kernel says so). The planner, the flash plan, the code
generator and `tinyq inspect` read the bound graph; nothing chooses kernels again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from tinyq.backends import REFERENCE_LAYER, Backend, chain, layer, layer_library
from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.lower import LoweredGraph
from tinyq.ops.base import ConstArray, InPlace, Kernel, Lowered, Target


@dataclass(frozen=True, eq=False)
class BoundOp:
    lowered: Lowered
    kernel: Kernel  # the implementation that runs the op
    layer: str  # its layer's name: "reference", "cmsis-nn", "tq-mve", ...
    function: str  # the library function the call ends in ("" for tinyq's own C)
    consts: tuple[ConstArray, ...]  # the flash arrays the call reads, in emission order
    scratch_bytes: int  # working memory the kernel needs on the target
    library: str = ""  # the C library it calls (tinyq.libraries), if any
    passed_over: tuple[tuple[str, str], ...] = ()  # (layer, why its kernel did not apply), in chain order
    inplace: InPlace | None = None  # the in-place rule of the code that runs (keyed on `function`)

    @property
    def template(self) -> str:
        return self.kernel.template

    @property
    def optimized(self) -> bool:
        return self.layer != REFERENCE_LAYER

    @property
    def reason(self) -> str:
        """Why this kernel runs the op, as inspect shows it."""
        if self.lowered.alias_of is not None:
            return "a view of its input: no code"
        if self.optimized:
            return self.function or f"{self.layer} kernel"
        return self.passed_over[-1][1] if self.passed_over else "reference kernel"


@dataclass(frozen=True, eq=False)
class BoundGraph:
    lowered: LoweredGraph
    ops: tuple[BoundOp, ...]  # by op position, as lowered.ops
    backend: Backend
    target: Target
    subgraphs: tuple["BoundGraph", ...] = ()  # the main graph's: the model's other subgraphs, bound

    @property
    def graph(self) -> Graph:
        return self.lowered.graph

    @property
    def libraries(self) -> tuple[str, ...]:
        """The C libraries the bound kernels call."""
        return tuple(sorted({b.library for b in self.ops if b.library} |
                            {lib for sub in self.subgraphs for lib in sub.libraries}))


def _digest(values) -> str:
    raw = np.ascontiguousarray(values)
    return hashlib.sha256(raw.tobytes() + str(raw.dtype).encode()).hexdigest()


def shared_weights(lowered: LoweredGraph) -> dict[int, tuple[int, ...]]:
    """Op position -> the other ops that read the same weights ("filter") but not the same arrays
    otherwise: an unrolled RNN's steps share one weight tensor, each with its own scales. The flash
    plan keeps one copy of an array read by several ops (plan/flash.py), but a kernel that packs the
    weights and the op's requantization into records of its own (tinyq's Helium kernels) makes a
    different record for each op: one copy of the weights per op (49 of an LSTM's in 1.5 MB)."""
    groups: dict[str, list[int]] = {}
    for position, k in enumerate(lowered.ops):
        weights = k.const("filter")
        if weights is not None and weights.size > 1:
            groups.setdefault(_digest(weights), []).append(position)
    shared = {}
    for members in groups.values():
        arrays = {tuple((c.name, _digest(c.values)) for c in lowered.ops[p].consts) for p in members}
        if len(arrays) > 1:  # identical ops pack identical records: those stay one copy
            shared.update({p: tuple(m for m in members if m != p) for p in members})
    return shared


def copies_weights(k: Lowered, consts: tuple[ConstArray, ...]) -> bool:
    """Whether the kernel reads none of the lowering's arrays, only records of its own making."""
    return bool(k.consts) and not any(c is own for c in consts for own in k.consts)


def candidates(k: Lowered, backend: Backend, target: Target, shares_with: tuple[int, ...] = ()) -> Iterator[BoundOp]:
    """Every kernel of the chain that can run `k`, in chain order (the reference kernel last), each
    with the reasons of the layers above it; bound one at a time, as they are asked for. With
    `shares_with` (shared_weights), a kernel that would copy the weights those ops also read is passed over."""
    passed_over, found = [], 0

    def passed(display: str, why: str) -> None:
        # a backend's layers may share a name (tq_mve, tq_mve_single): each reason once, and
        # "has no kernel" only for a name that said nothing yet
        if (display, why) not in passed_over and not (why.endswith(" kernel") and why.startswith(f"{display} has no")
                                                       and any(d == display for d, _ in passed_over)):
            passed_over.append((display, why))

    for name in chain(backend):
        display, kernels = layer(name)
        kernel = kernels.get(k.kernel)
        if kernel is None:
            if name != REFERENCE_LAYER and k.alias_of is None:
                passed(display, f"{display} has no {k.kernel} kernel")
            continue
        why = kernel.applies(k, target)
        if why is not None:
            passed(display, why)
            continue
        function = kernel.function(k, target)
        consts = kernel.arrays(k, target)
        if shares_with and copies_weights(k, consts):
            others = ", ".join(str(p) for p in shares_with[:4]) + (", ..." if len(shares_with) > 4 else "")
            passed(display, f"{function or display + ' kernel'} kept off: it would pack its own copy of the weights "
                            f"that op(s) {others} also read (with other scales), one copy per op in flash")
            continue
        found += 1
        yield BoundOp(lowered=k, kernel=kernel, layer=display, function=function,
                      consts=consts, scratch_bytes=kernel.scratch(k, target),
                      library=layer_library(name),
                      passed_over=tuple(passed_over), inplace=kernel.inplace_rule(k, target, function))
        passed_over.append((display, f"{function or display + ' kernel'} kept off: its scratch or in-place "
                                     "rule would make the arena larger than the reference kernels' (--arena fast "
                                     "runs it)"))
    if not found:
        raise TinyqError(f"no kernel implements {k.kernel}", where=f"op {k.op.index} ({k.op.op})",
                         hint="this is a tinyq bug: the op lowers to a kernel nobody declares")


def bind_op(k: Lowered, backend: Backend, target: Target, shares_with: tuple[int, ...] = ()) -> BoundOp:
    return next(candidates(k, backend, target, shares_with))


# --arena: what binding may do to the arena (tinyq/plan/keep_arena.py)
ARENAS = {"reference": "at most the reference kernels' arena: an op whose fast kernel would raise it runs "
                       "the next kernel of its chain that does not (the default)",
          "fast": "every op's fastest kernel, whatever its scratch and in-place rule cost in arena"}


def bind(lowered: LoweredGraph, backend: Backend, target: Target, keep_arena: bool = False) -> BoundGraph:
    """Choose every op's kernel for `backend` on `target`: the first of its chain that applies;
    with `keep_arena`, not where that would make the arena larger than with the reference kernels
    (tinyq/plan/keep_arena.py; the pipeline's default, tinyq.driver.bind)."""
    shared = shared_weights(lowered)
    bound = BoundGraph(lowered=lowered, ops=tuple(bind_op(k, backend, target, shared.get(p, ()))
                                                  for p, k in enumerate(lowered.ops)),
                       backend=backend, target=target,
                       subgraphs=tuple(bind(sub, backend, target, keep_arena=False) for sub in lowered.subgraphs))
    if keep_arena and backend.layers:
        from tinyq.plan.keep_arena import keep_reference_arena  # the planner imports this module

        bound = keep_reference_arena(bound, shared)
    return bound
