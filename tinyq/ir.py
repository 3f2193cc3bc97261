"""The graph IR: frozen dataclasses that every stage after the reader works on.

No flatbuffer or interpreter object appears here. Constant tensors carry their
data as read-only numpy arrays; activations carry none. Operators name their op
with tinyq's op name (`conv_2d`), the same name used in templates, C symbols
and reports, and carry their options as the op's own frozen dataclass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

# dtype name -> (numpy dtype, bytes per element); int4 is stored unpacked in the IR.
DTYPES: dict[str, tuple[Any, int]] = {
    "float32": (np.float32, 4),
    "int32": (np.int32, 4),
    "int64": (np.int64, 8),
    "int16": (np.int16, 2),
    "int8": (np.int8, 1),
    "uint8": (np.uint8, 1),
    "uint16": (np.uint16, 2),
    "uint32": (np.uint32, 4),
    "uint64": (np.uint64, 8),
    "bool": (np.bool_, 1),
    "int4": (np.int8, 1),
    "float16": (np.float16, 2),  # constants only: the TFLite converter's float16 weights, before a DEQUANTIZE
}

# Bits per element of every TFLite tensor type, for sizes (DTYPES are the types tinyq computes with).
# STRING, RESOURCE and VARIANT have no fixed element size: their tensors count 0 bytes here.
ITEM_BITS: dict[str, int] = {
    **{name: 8 * size for name, (_, size) in DTYPES.items()}, "int4": 4,
    "bfloat16": 16, "float64": 64, "complex64": 64, "complex128": 128, "uint16": 16,
    "uint32": 32, "uint64": 64, "int2": 2, "uint4": 4, "float8_e4m3fn": 8, "float8_e5m2": 8,
}

NO_TENSOR = -1  # TFLite's marker for an omitted optional input (e.g. no bias)


@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per `axis`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    @property
    def s(self) -> float:
        """The per-tensor scale (the first one of a per-channel list)."""
        return self.scale[0]

    @property
    def zp(self) -> int:
        return self.zero_point[0]


@dataclass(frozen=True, eq=False)
class Tensor:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    quant: Quant | None = None
    data: np.ndarray | None = None  # constant contents (weights, biases, shapes)
    shape_signature: tuple[int, ...] | None = None
    is_variable: bool = False

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def numel(self) -> int:
        return math.prod(self.shape)  # exact: a corrupt shape must not wrap around int64

    @property
    def nbytes(self) -> int:
        """Bytes in the file and in the arena; sub-byte types (int4) packed, as in the file and in flash
        (`data` holds one value per byte)."""
        return (self.numel * ITEM_BITS.get(self.dtype, 0) + 7) // 8


@dataclass(frozen=True)
class Operator:
    index: int
    op: str  # tinyq op name, e.g. "conv_2d"; "custom:<code>" or "builtin:<n>" if unknown
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Any = None  # the op's options dataclass, or None
    version: int = 1


@dataclass(frozen=True, eq=False)
class Graph:
    """One subgraph of a model: its own tensors (indices local to it), operators, inputs and outputs.

    The main graph (`index` 0, the one invoke runs) holds the model's other subgraphs in
    `subgraphs` (subgraph i at position i - 1), each a Graph of its own with an empty `subgraphs`;
    control-flow ops (WHILE, IF, CALL_ONCE) name them by index in their options.
    """

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]  # in execution order
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    name: str = "model"  # the main graph: the model's C name; another subgraph: its name in the file
    description: str = ""
    metadata: tuple[tuple[str, bytes], ...] = field(default=())
    index: int = 0  # which of the model's subgraphs this is
    subgraphs: tuple["Graph", ...] = ()  # the main graph's: the model's subgraphs 1, 2, ...

    def subgraph(self, i: int) -> "Graph":
        """The model's subgraph i, as seen from this graph (which knows `subgraphs`)."""
        if i == self.index:
            return self
        if not 1 <= i <= len(self.subgraphs):
            raise IndexError(f"subgraph {i} of a model with {len(self.subgraphs) + 1}")
        return self.subgraphs[i - 1]

    def tensor(self, index: int) -> Tensor | None:
        return None if index == NO_TENSOR else self.tensors[index]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        return [self.tensor(i) for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    def producers(self) -> dict[int, Operator]:
        return {t: op for op in self.operators for t in op.outputs}

    def consumers(self) -> dict[int, list[Operator]]:
        result: dict[int, list[Operator]] = {}
        for op in self.operators:
            for t in op.inputs:
                if t != NO_TENSOR:
                    result.setdefault(t, []).append(op)
        return result

    def with_outputs(self, outputs: tuple[int, ...]) -> "Graph":
        return replace(self, outputs=tuple(outputs))


def describe_op(graph: Graph, op: Operator) -> str:
    """`op 3 (conv_2d)`, `subgraph 2 op 3 (add)`: how errors and reports name an operator."""
    return f"subgraph {graph.index} op {op.index} ({op.op})" if graph.index else f"op {op.index} ({op.op})"
