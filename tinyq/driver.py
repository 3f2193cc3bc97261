"""The pipeline in one screen: read -> fold constants -> lower -> choose kernels -> plan -> generate.

Every CLI command and test goes through these functions, so each stage is
checked the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyq.backends import get_backend
from tinyq.boards import Board
from tinyq.codegen import GeneratedSource, generate_c
from tinyq.ir import Graph
from tinyq.lower import LoweredGraph, lower_graph
from tinyq.plan import MemoryPlan, plan_memory
from tinyq.passes.fold import fold_constants
from tinyq.tflite.reader import read_model_file


@dataclass(frozen=True, eq=False)
class Compiled:
    graph: Graph
    lowered: LoweredGraph
    plan: MemoryPlan
    source: GeneratedSource


def compile_graph(graph: Graph, board: Board, backend: str | None = None, name: str | None = None,
                  source: str = "") -> Compiled:
    # Converters leave shape arithmetic (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE) in
    # dynamic-batch models; with static shapes it is constant, so it never reaches the device.
    graph = fold_constants(graph)
    lowered = lower_graph(graph)
    kernels = get_backend(backend or board.default_backend, board)  # bound to the board's ISA
    plan = plan_memory(lowered, backend=kernels)  # in-place rules and scratch sizes depend on the kernels
    generated = generate_c(lowered, plan, kernels, name or graph.name, source=source)
    return Compiled(graph=graph, lowered=lowered, plan=plan, source=generated)


def compile_file(path: str | Path, board: Board, backend: str | None = None, name: str | None = None) -> Compiled:
    graph = read_model_file(path)
    return compile_graph(graph, board, backend, name, source=Path(path).name)
