"""Build small graphs in code: what tests (and the demo model) write with tinyq's writer.

    b = GraphBuilder("fc")
    x = b.input((1, 16), scale=0.05, zero_point=-3)
    w = b.const(weights_int8, scale=[0.01] * 8, axis=0)
    y = b.activation((1, 8), scale=0.1, zero_point=5)
    b.op("fully_connected", [x, w, -1], [y], fused_activation_function="RELU")
    graph = b.build(outputs=[y])

A model with several subgraphs (WHILE, IF, CALL_ONCE name them by index):

    body = b.subgraph("body")            # subgraph body.index, built with the main graph
    s = body.input((1, 4), dtype="int32")
    ...
    body.set_outputs([t])
    b.op("while", [...], [...], cond_subgraph_index=cond.index, body_subgraph_index=body.index)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from tinyq import ops
from tinyq.ir import DTYPES, Graph, Operator, Quant, Tensor


class GraphBuilder:
    def __init__(self, name: str = "model", index: int = 0, root: "GraphBuilder | None" = None):
        self.name = name
        self.index = index  # the subgraph this builds (0: the main graph)
        self._root = root or self
        self._tensors: list[Tensor] = []
        self._ops: list[Operator] = []
        self._inputs: list[int] = []
        self._outputs: list[int] = []
        self._subgraphs: list[GraphBuilder] = []  # the main graph's: subgraph i at i - 1

    def subgraph(self, name: str = "") -> "GraphBuilder":
        """A builder for the model's next subgraph; its `index` is what control-flow options name."""
        root = self._root
        child = GraphBuilder(name or f"subgraph{len(root._subgraphs) + 1}", len(root._subgraphs) + 1, root)
        root._subgraphs.append(child)
        return child

    def set_outputs(self, outputs: Sequence[int]) -> None:
        """A subgraph's outputs (the main graph's are build()'s argument)."""
        self._outputs = list(outputs)

    def _add(self, shape, dtype, scale, zero_point, axis, data, name) -> int:
        quant = None
        if scale is not None:
            scales = tuple(float(s) for s in np.atleast_1d(scale))
            zps = np.atleast_1d(zero_point if zero_point is not None else 0)
            if len(zps) == 1 and len(scales) > 1:
                zps = np.repeat(zps, len(scales))
            quant = Quant(scale=scales, zero_point=tuple(int(z) for z in zps), axis=axis)
        index = len(self._tensors)
        self._tensors.append(Tensor(index=index, name=name or f"t{index}", dtype=dtype,
                                    shape=tuple(int(d) for d in shape), quant=quant, data=data))
        return index

    def input(self, shape: Sequence[int], dtype: str = "int8", scale=None, zero_point=None,
              name: str | None = None) -> int:
        index = self._add(shape, dtype, scale, zero_point, 0, None, name or f"input{len(self._inputs)}")
        self._inputs.append(index)
        return index

    def activation(self, shape: Sequence[int], dtype: str = "int8", scale=None, zero_point=None,
                   name: str | None = None) -> int:
        return self._add(shape, dtype, scale, zero_point, 0, None, name)

    def variable(self, shape: Sequence[int], dtype: str = "int8", scale=None, zero_point=None,
                 name: str | None = None) -> int:
        """A variable tensor: state a stateful op (LSTM, SVDF) keeps from one invoke to the next."""
        index = self._add(shape, dtype, scale, zero_point, 0, None, name)
        self._tensors[index] = replace(self._tensors[index], is_variable=True)
        return index

    def const(self, data, dtype: str | None = None, scale=None, zero_point=None, axis: int = 0,
              name: str | None = None) -> int:
        array = np.asarray(data)
        dtype = dtype or str(array.dtype)
        array = np.array(array, dtype=DTYPES[dtype][0])
        array.flags.writeable = False
        return self._add(array.shape, dtype, scale, zero_point, axis, array, name)

    def op(self, name: str, inputs: Sequence[int], outputs: Sequence[int], options=None, version: int = 1,
           **option_fields) -> int:
        spec = ops.by_name(name)
        if options is None and spec is not None and spec.options is not None:
            options = spec.options(**option_fields)
        elif option_fields:
            raise TypeError(f"{name} takes no options")
        self._ops.append(Operator(index=len(self._ops), op=name, inputs=tuple(inputs), outputs=tuple(outputs),
                                  options=options, version=version))
        return len(self._ops) - 1

    def build(self, outputs: Sequence[int]) -> Graph:
        subgraphs = tuple(sub.build(sub._outputs) for sub in self._subgraphs)
        return Graph(tensors=tuple(self._tensors), operators=tuple(self._ops), inputs=tuple(self._inputs),
                     outputs=tuple(outputs), name=self.name, index=self.index, subgraphs=subgraphs)
