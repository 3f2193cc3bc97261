"""GELU as ops TFLM has, for the quantizer: TFLM registers no GELU kernel, float or int8, so a PyTorch
transformer or MLP-Mixer (nn.GELU is their default activation) quantized with its GELU would run nowhere
TFLM runs. Written as

    GELU(x) ~= x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))

- the tanh form (0.5 (1 + tanh(z)) is sigmoid(2z)), exactly what `approximate=True` computes, and within
3e-4 of the erf form everywhere - it is MUL, MUL, MUL, MUL, ADD, LOGISTIC and MUL, each of which TFLM runs
in int8 and in 16x8. Calibration and the quantizer's report run the rewritten float graph, which is the
original to within that 3e-4 (tests/test_quantize_gelu.py measures the integer model against the original).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.passes.graph_edit import renumber_ops

CUBIC = 0.044715
SLOPE = 2.0 * math.sqrt(2.0 / math.pi)  # sigmoid's argument per unit of (x + CUBIC x^3)


def decompose_gelu(graph: Graph) -> Graph:
    """`graph` with every float32 GELU replaced by the ops above (the same output tensor)."""
    if not any(op.op == "gelu" and graph.tensors[op.inputs[0]].dtype == "float32" for op in graph.operators):
        return graph
    tensors = list(graph.tensors)

    def tensor(like: Tensor, what: str, data=None) -> int:
        shape = like.shape if data is None else data.shape
        tensors.append(Tensor(index=len(tensors), name=f"{like.name}/gelu_{what}", dtype="float32",
                              shape=tuple(shape), data=data))
        return len(tensors) - 1

    def scalar(like: Tensor, what: str, value: float) -> int:
        return tensor(like, what, np.full((1,), value, dtype=np.float32))

    operators: list[Operator] = []
    for op in graph.operators:
        x = graph.tensors[op.inputs[0]]
        if op.op != "gelu" or x.dtype != "float32":
            operators.append(op)
            continue
        (y,) = op.outputs

        def emit(name: str, inputs: list[int], output: int, options=None) -> None:
            operators.append(Operator(index=0, op=name, inputs=tuple(inputs), outputs=(output,),
                                      options=options if options is not None else _options(name)))

        x2, x3, cubic, linear, z, gate = (tensor(x, w) for w in ("x2", "x3", "cubic", "linear", "z", "gate"))
        emit("mul", [x.index, x.index], x2)
        emit("mul", [x2, x.index], x3)
        emit("mul", [x3, scalar(x, "k3", SLOPE * CUBIC)], cubic)
        emit("mul", [x.index, scalar(x, "k1", SLOPE)], linear)
        emit("add", [linear, cubic], z)
        emit("logistic", [z], gate)
        emit("mul", [x.index, gate], y)
    return replace(graph, tensors=tuple(tensors), operators=renumber_ops(operators))


def _options(name: str):
    from tinyq.ops import by_name

    options = by_name(name).options
    return options() if options is not None else None
