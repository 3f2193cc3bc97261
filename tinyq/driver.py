"""The pipeline in one screen: read -> fold -> lower -> bind -> plan -> generate.

Every command goes through these entry points, so each stage runs, and is
checked, the same way everywhere: `tinyq inspect` stops after bind, `tinyq plan`
after plan, `tinyq generate`/`verify` run them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyq import bind as binding
from tinyq.backends import get_backend, target_of
from tinyq.bind import BoundGraph
from tinyq.boards import Board
from tinyq.codegen import GeneratedSource, generate_c
from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.lower import LoweredGraph, lower_graph
from tinyq.passes.fold import fold_constants
from tinyq.plan import MemoryPlan, plan_memory
from tinyq.plan.cores import board_cores, split_across_cores
from tinyq.plan.fit import require_fit
from tinyq.tflite.reader import read_model, read_model_file
from tinyq.tflite.writer import write_model


@dataclass(frozen=True, eq=False)
class Compiled:
    model: bytes  # the .tflite as the user gave it: what the golden model runs
    graph: Graph  # after folding: what the generated code computes
    bound: BoundGraph
    plan: MemoryPlan
    source: GeneratedSource

    @property
    def lowered(self) -> LoweredGraph:
        return self.bound.lowered


def read(path: str | Path) -> tuple[bytes, Graph]:
    """The file's bytes and its graph, checked (tinyq/tflite/reader.py)."""
    graph = read_model_file(path)
    return Path(path).read_bytes(), graph


def fold(graph: Graph) -> Graph:
    # Converters leave shape arithmetic (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE) in
    # dynamic-batch models; with static shapes it is constant, so it never reaches the device.
    return fold_constants(graph)


def lower(graph: Graph) -> LoweredGraph:
    return lower_graph(graph)


def bind(lowered: LoweredGraph, board: Board, backend: str | None = None, arena: str = "reference") -> BoundGraph:
    """Each op's kernel: the backend's layers on the board's code path, then the reference, at most
    the reference kernels' arena unless `arena` is "fast" (binding.ARENAS); on a two-core board the
    heavy ops' output shared between the cores (plan/cores.py)."""
    if arena not in binding.ARENAS:
        raise TinyqError(f"unknown arena choice '{arena}'", hint=f"choose one of: {', '.join(binding.ARENAS)}")
    bound = binding.bind(lowered, get_backend(backend or board.default_backend), target_of(board),
                         keep_arena=arena == "reference")
    return split_across_cores(bound, board_cores(board))


def front(graph: Graph, board: Board, backend: str | None = None, arena: str = "reference") -> BoundGraph:
    """fold -> lower -> bind: everything before planning."""
    return bind(lower(fold(graph)), board, backend, arena)


def plan(bound: BoundGraph) -> MemoryPlan:
    return plan_memory(bound)  # in-place rules and scratch sizes are the bound kernels'


def plan_patches(bound: BoundGraph, request: str) -> tuple[BoundGraph, MemoryPlan]:
    """`--patches auto|min|N|RxC`: the first layers fused into one op run patch by patch (plan/patched.py)."""
    from tinyq.plan.patched import choose
    from tinyq.plan.patches import parse_request

    patched = choose(bound, parse_request(request))
    return patched.bound, patched.plan


def generate(bound: BoundGraph, memory: MemoryPlan, name: str, source: str = "") -> GeneratedSource:
    return generate_c(bound, memory, name, source=source)


def compile_graph(graph: Graph, board: Board, backend: str | None = None, name: str | None = None,
                  source: str = "", model: bytes | None = None, patches: str | None = None,
                  arena: str = "reference") -> Compiled:
    """Every stage after reading. `model`: the file's bytes (default: the graph written as it is);
    `patches`: run the first layers patch by patch from a streamed input (plan_patches);
    `arena`: "fast" lets the backend's kernels raise the arena above the reference kernels' (bind)."""
    bound = front(graph, board, backend, arena)
    if patches:
        bound, memory = plan_patches(bound, patches)
    else:
        memory = plan(bound)
    if board.runner != "host":  # a board has limits: refuse here, not in the linker
        require_fit(memory, bound, board)
    generated = generate(bound, memory, name or graph.name, source=source)
    return Compiled(model=model if model is not None else write_model(graph), graph=bound.graph, bound=bound,
                    plan=memory, source=generated)


def compile_file(path: str | Path, board: Board, backend: str | None = None, name: str | None = None,
                 patches: str | None = None, arena: str = "reference") -> Compiled:
    model, graph = read(path)
    return compile_graph(graph, board, backend, name, source=Path(path).name, model=model, patches=patches,
                         arena=arena)


def compile_bytes(model: bytes, board: Board, backend: str | None = None, name: str | None = None,
                  patches: str | None = None, arena: str = "reference") -> Compiled:
    return compile_graph(read_model(model), board, backend, name, model=model, patches=patches, arena=arena)
