"""The golden model: TensorFlow Lite Micro's own Python interpreter.

For layer-by-layer comparison the model is rewritten (with tinyq's writer) to
expose every activation as a graph output, so TFLM cannot reuse their memory.
"""

from __future__ import annotations

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model

DEFAULT_ARENA = 32 * 1024 * 1024


def _interpreter(model: bytes, arena_size: int):
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise TinyqError("the tflite-micro package is missing", hint="pip install tflite-micro") from None
    try:
        return runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    except Exception as exc:  # TFLM reports init failures as RuntimeError with its log
        raise TinyqError(f"TFLM could not load the model: {str(exc).strip().splitlines()[-1][:200]}") from None


def tflm_run(model: bytes, inputs: list[list[np.ndarray]], arena_size: int = DEFAULT_ARENA) -> list[list[np.ndarray]]:
    """Outputs of TFLM for each record of inputs."""
    interp = _interpreter(model, arena_size)
    n_out = len(read_model(model).outputs)
    results = []
    for record in inputs:
        for i, array in enumerate(record):
            interp.set_input(array, i)
        interp.invoke()
        results.append([np.array(interp.get_output(i)) for i in range(n_out)])
    return results


def exposed_graph(graph: Graph) -> tuple[Graph, list[int]]:
    """The graph with every non-constant op output added to its outputs."""
    extra = [t for op in graph.operators for t in op.outputs
             if t not in graph.outputs and not graph.tensors[t].is_const]
    return graph.with_outputs(graph.outputs + tuple(extra)), list(graph.outputs) + extra


def tflm_run_layers(graph: Graph, inputs: list[list[np.ndarray]]) -> list[dict[int, np.ndarray]]:
    """Every activation tensor TFLM computes, per record, keyed by tensor index."""
    exposed, order = exposed_graph(graph)
    outputs = tflm_run(write_model(exposed), inputs)
    return [dict(zip(order, record)) for record in outputs]
