"""A CONCATENATION of more inputs than TFLM's kernel takes (10) as a tree of CONCATENATIONs that each take
at most 10, for the quantizer: PyTorch's nn.LSTM/GRU over more than ten steps exports one (ai-edge-torch
stacks every step's output), and TFLM refuses the float file and its quantized copy alike.

The values are the same: a concatenation of consecutive runs of the inputs, then of those, along one axis.
Quantized, the runs' outputs are tied to the final output's parameters as its inputs are
(QuantRule.inputs_as_output), so the int8 copies are the copies one CONCATENATION would make.
"""

from __future__ import annotations

from dataclasses import replace

from tinyq.ir import Graph, Tensor
from tinyq.ops.concatenation import MAX_INPUTS
from tinyq.passes.graph_edit import option, renumber_ops


def split_wide_concatenations(graph: Graph, limit: int = MAX_INPUTS) -> Graph:
    """`graph` with every CONCATENATION of more than `limit` inputs split (the main graph's: the quantizer
    takes no control flow, as with_tflm_ops)."""
    if not any(op.op == "concatenation" and len(op.inputs) > limit for op in graph.operators):
        return graph
    tensors = list(graph.tensors)
    operators = []
    for op in graph.operators:
        if op.op != "concatenation" or len(op.inputs) <= limit:
            operators.append(op)
            continue
        out = tensors[op.outputs[0]]
        axis = option(op, "axis", 0)
        axis = axis + len(out.shape) if axis < 0 else axis
        inputs = list(op.inputs)
        while len(inputs) > limit:
            runs = [inputs[k:k + limit] for k in range(0, len(inputs), limit)]
            inputs = []
            for run in runs:
                if len(run) == 1:
                    inputs.append(run[0])
                    continue
                shape = list(out.shape)
                shape[axis] = sum(tensors[t].shape[axis] for t in run)
                part = Tensor(index=len(tensors), name=f"{out.name}/part{len(tensors)}", dtype=out.dtype,
                              shape=tuple(shape), quant=out.quant)
                tensors.append(part)
                operators.append(replace(op, inputs=tuple(run), outputs=(part.index,)))
                inputs.append(part.index)
        operators.append(replace(op, inputs=tuple(inputs)))
    return replace(graph, tensors=tuple(tensors), operators=renumber_ops(operators))
