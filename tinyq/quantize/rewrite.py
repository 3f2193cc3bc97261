"""The prepared float graph + chosen parameters -> the int8 (full-integer) graph.

Tensor indices stay those of the float graph; only `--io float` appends the
float boundary tensors and their QUANTIZE/DEQUANTIZE ops. Weighted ops get
their weights rounded (int8 or int4), their bias quantized at s_in * s_w, and
the operator version TFLite's versioning gives such an op.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Quant
from tinyq.quantize import qparams
from tinyq.quantize.actparams import ActivationChoice
from tinyq.quantize.config import QuantizeConfig
from tinyq.passes.graph_edit import option, renumber_ops
from tinyq.quantize.observers import TensorStats
from tinyq.quantize.rules import RULES, int8_version
from tinyq.quantize.weights import QuantizedWeights, bias_tensor, output_shift, quantize_weights, weight_tensor


@dataclass(frozen=True, eq=False)
class WeightChoice:
    op: int
    weights: QuantizedWeights
    bias_shift_removed: np.ndarray | None  # the bias correction applied (float), if any


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def quantize_op_weights(graph: Graph, op: Operator, input_quant: Quant, dtype: str, config: QuantizeConfig,
                        stats: dict[int, TensorStats]) -> tuple[QuantizedWeights, np.ndarray | None, np.ndarray | None]:
    """(weights, int32 bias or None, bias correction applied or None) for one weighted op."""
    rule = RULES[op.op]
    w = np.asarray(weight_tensor(graph, op).data, dtype=np.float32)
    b_tensor = bias_tensor(graph, op)
    b = None if b_tensor is None else np.asarray(b_tensor.data, dtype=np.float64)
    clip = config.weight_clip(dtype)
    per_channel = config.per_channel and (dtype != "int4" or rule.int4_per_channel)
    qw = quantize_weights(w, rule.channel_axis, dtype, per_channel, clip)
    if b is not None:
        floor = qparams.min_weight_scales_for_bias(b, input_quant.s, qw.scales)
        if np.any(floor > qw.scales):
            qw = quantize_weights(w, rule.channel_axis, dtype, per_channel, clip, min_scales=floor)
    shift = None
    x = op.inputs[rule.activation_inputs[0]]
    if config.bias_correction and b is not None and x in stats:
        shift = output_shift(op, w, qw.dequantized, stats[x].channel_mean)
        b = b - shift
    q_bias = None if b is None else qparams.quantize_bias(b, input_quant.s, qw.scales)
    return qw, q_bias, shift


def build_int8_graph(graph: Graph, acts: dict[int, ActivationChoice], weight_dtypes: dict[int, str],
                     config: QuantizeConfig, stats: dict[int, TensorStats]) -> tuple[Graph, dict[int, WeightChoice]]:
    tensors = list(graph.tensors)
    for t, choice in acts.items():
        tensor = tensors[t]
        if tensor.is_const:  # a float constant used as data, e.g. an ADD operand
            q = qmath.round_half_away(np.asarray(tensor.data, dtype=np.float64) / choice.quant.s) + choice.quant.zp
            data = _frozen(np.clip(q, -128, 127).astype(np.int8))
            tensors[t] = replace(tensor, dtype="int8", quant=choice.quant, data=data)
        else:
            tensors[t] = replace(tensor, dtype="int8", quant=choice.quant)

    operators = []
    weights: dict[int, WeightChoice] = {}
    for op in graph.operators:
        rule = RULES[op.op]
        version = rule.version
        if rule.weights is not None:
            dtype = weight_dtypes.get(op.index, "int8")
            x_quant = acts[op.inputs[rule.activation_inputs[0]]].quant
            qw, q_bias, shift = quantize_op_weights(graph, op, x_quant, dtype, config, stats)
            w_t = tensors[op.inputs[rule.weights]]
            tensors[w_t.index] = replace(
                w_t, dtype=dtype, data=_frozen(qw.q),
                quant=Quant(scale=tuple(float(s) for s in qw.scales), zero_point=(0,) * len(qw.scales),
                            axis=rule.channel_axis if len(qw.scales) > 1 else 0))
            b_t = bias_tensor(graph, op)
            if b_t is not None:
                scales = qparams.bias_scales(x_quant.s, qw.scales).astype(np.float32)
                tensors[b_t.index] = replace(
                    b_t, dtype="int32", data=_frozen(q_bias.reshape(b_t.shape)),
                    quant=Quant(scale=tuple(float(s) for s in scales), zero_point=(0,) * len(scales), axis=0))
            weights[op.index] = WeightChoice(op.index, qw, shift)
            version = int8_version(op.op, dtype, has_bias=b_t is not None,
                                   keep_num_dims=bool(option(op, "keep_num_dims", False)))
        elif op.op == "mul":
            a, b = (tensors[i].quant.s for i in op.inputs[:2])
            version = int8_version("mul", "int8", mul_rescale_ge_one=a * b / tensors[op.outputs[0]].quant.s >= 1.0)
        operators.append(replace(op, version=version))

    qgraph = replace(graph, tensors=tuple(tensors), operators=tuple(operators))
    if config.io == "float":
        qgraph = _float_boundaries(qgraph, graph)
    return qgraph, weights


def _float_boundaries(qgraph: Graph, float_graph: Graph) -> Graph:
    """Keep float32 graph inputs/outputs: QUANTIZE after each input, DEQUANTIZE before each output."""
    tensors = list(qgraph.tensors)
    head: list[Operator] = []
    tail: list[Operator] = []
    rename: dict[int, int] = {}
    outputs = list(qgraph.outputs)
    for t in qgraph.inputs:
        if float_graph.tensors[t].dtype != "float32":
            continue
        inner = len(tensors)
        tensors.append(replace(tensors[t], index=inner, name=f"{tensors[t].name}_int8", shape_signature=None))
        tensors[t] = replace(float_graph.tensors[t], quant=None)
        rename[t] = inner
        head.append(Operator(index=0, op="quantize", inputs=(t,), outputs=(inner,), version=1))
    for pos, t in enumerate(qgraph.outputs):
        if float_graph.tensors[t].dtype != "float32":
            continue
        outer = len(tensors)
        tensors.append(replace(float_graph.tensors[t], index=outer, quant=None))
        outputs[pos] = outer
        source = rename.get(t, t)
        tail.append(Operator(index=0, op="dequantize", inputs=(source,), outputs=(outer,), version=2))
    body = [replace(op, inputs=tuple(rename.get(i, i) for i in op.inputs)) for op in qgraph.operators]
    return replace(qgraph, tensors=tuple(tensors), operators=renumber_ops(head + body + tail),
                   outputs=tuple(outputs))
