"""Float execution with LiteRT's interpreter, every intermediate tensor kept.

LiteRT is the float reference here only (its int8 kernels are not TFLM's, so
int8 results always come from tinyq.golden). Default delegates are off so the
intermediate tensors exist and results do not depend on XNNPACK.
"""

from __future__ import annotations

import warnings
from typing import Iterable

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import Graph
from tinyq.tflite.writer import write_model


# LiteRT checks each op of the file as TFLite defines it: a failed check is the file's fault
LITERT_HINT = "LiteRT, the quantizer's float reference, finds the file inconsistent: re-export the model"


class FloatRunner:
    """Runs one float graph sample by sample; tensor indices are the IR's."""

    def __init__(self, graph: Graph):
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError:
            raise TinyqError("ai-edge-litert is missing (the quantizer runs the float model with it)",
                             hint="pip install ai-edge-litert") from None
        self.graph = graph
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # preserve_all_tensors warns that it is for debugging
                self._interp = Interpreter(
                    model_content=write_model(graph), experimental_preserve_all_tensors=True,
                    experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
                self._interp.allocate_tensors()
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise TinyqError(f"LiteRT cannot run the float model: {_first_line(exc)}", where=graph.name,
                             hint=LITERT_HINT) from None
        self._inputs = [d["index"] for d in self._interp.get_input_details()]

    def run(self, record: list[np.ndarray], tensors: Iterable[int]) -> dict[int, np.ndarray]:
        for index, array in zip(self._inputs, record):
            self._interp.set_tensor(index, np.ascontiguousarray(array))
        self._invoke()
        return {t: self._interp.get_tensor(t) for t in tensors}

    def computed(self, tensors: Iterable[int]) -> dict[int, tuple[tuple[int, ...], str]]:
        """(shape, type) of each of `tensors` as LiteRT computes them: its Prepare sets op outputs' shapes and
        types from the inputs, whatever the file declares (after one run of zeros, so ops that size their
        outputs at run time have done so too)."""
        self._invoke_on_zeros()
        wanted = set(tensors)
        return {d["index"]: (tuple(int(n) for n in d["shape"]), np.dtype(d["dtype"]).name)
                for d in self._interp.get_tensor_details() if d["index"] in wanted}

    def on_zeros(self, tensors: Iterable[int]) -> dict[int, np.ndarray]:
        """`tensors` after a run on all-zero inputs (for tensors no input reaches, their only value)."""
        self._invoke_on_zeros()
        return {t: np.array(self._interp.get_tensor(t)) for t in tensors}

    def _invoke_on_zeros(self) -> None:
        for d in self._interp.get_input_details():
            self._interp.set_tensor(d["index"], np.zeros(d["shape"], dtype=d["dtype"]))
        self._invoke()

    def _invoke(self) -> None:
        try:
            self._interp.invoke()
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise TinyqError(f"LiteRT cannot run the float model: {_first_line(exc)}", where=self.graph.name,
                             hint=LITERT_HINT) from None

    def outputs(self, record: list[np.ndarray]) -> list[np.ndarray]:
        values = self.run(record, self.graph.outputs)
        return [values[t] for t in self.graph.outputs]


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else f"{type(exc).__name__} without a message (out of memory?)"


def computed_outputs(graph: Graph) -> dict[int, tuple[tuple[int, ...], str]]:
    """(shape, type) of every op output as LiteRT computes it (FloatRunner.computed)."""
    return FloatRunner(graph).computed([t for op in graph.operators for t in op.outputs])


def zero_input_values(graph: Graph, tensors: list[int]) -> dict[int, np.ndarray]:
    """`tensors` as LiteRT computes them from all-zero inputs (for tensors no input reaches, their only value)."""
    return FloatRunner(graph).on_zeros(tensors)


def activation_tensors(graph: Graph) -> list[int]:
    """Every float tensor computed at run time, graph inputs included."""
    result = [t for t in graph.inputs if graph.tensors[t].dtype == "float32"]
    for op in graph.operators:
        result += [t for t in op.outputs if graph.tensors[t].dtype == "float32" and t not in result]
    return result
