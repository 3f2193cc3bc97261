"""The prepared float graph + chosen parameters -> the integer (full-integer) graph.

Tensor indices stay those of the float graph; the tensors a layout adds (a
tensor's copy at the other width, converted graph inputs and outputs) and `--io
float`'s float boundary tensors come after them, with the QUANTIZE/DEQUANTIZE
ops that fill them. Weighted ops get their weights rounded (int8 or int4),
their bias quantized at s_in * s_w (int32; int64 for 16x8 ops, as the TFLite
converter writes them, with quantized_bias_type INT64 in the options that have
it), and the operator version TFLite's converter gives such an op (its 16x8
mode writes the int8 versions).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tinyq import qmath
from tinyq.ir import NO_TENSOR, Graph, Operator, Quant
from tinyq.quantize import qparams
from tinyq.quantize.actparams import ActivationChoice, zero_point_0_copy
from tinyq.quantize.config import QuantizeConfig
from tinyq.passes.graph_edit import option, renumber_ops
from tinyq.quantize.observers import TensorStats
from tinyq.quantize.recurrent import quantize_recurrent_op
from tinyq.quantize.rules import RULES, activation_op_version, int8_version
from tinyq.quantize.weights import QuantizedWeights, bias_tensor, output_shift, quantize_weights, weight_tensor
from tinyq.quantize.widths import Layout

BIAS_DTYPE = {"int8": "int32", "int16": "int64"}
# TFLite's op versions of the boundary ops (tools/versioning/op_version.cc)
QUANTIZE_VERSION = {"int8": 1, "int16": 2}
DEQUANTIZE_VERSION = {"int8": 2, "int16": 3}
REQUANTIZE_VERSION = 2  # QUANTIZE from an integer type (TFLite's op versioning)


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
                        stats: dict[int, TensorStats], bias_dtype: str = "int32", output_quant: Quant | None = None,
                        rounder=None) -> tuple[QuantizedWeights, np.ndarray | None, np.ndarray | None]:
    """(weights, int32/int64 bias or None, bias correction applied or None) for one weighted op."""
    rule = RULES[op.op]
    w = np.asarray(weight_tensor(graph, op).data, dtype=np.float32)
    b_tensor = bias_tensor(graph, op)
    b = None if b_tensor is None else np.asarray(b_tensor.data, dtype=np.float64)
    clip = config.weight_clip(dtype)
    per_channel = config.per_channel and (dtype != "int4" or rule.int4_per_channel)
    qw = quantize_weights(w, rule.channel_axis, dtype, per_channel, clip)
    floor = None
    if b is not None:
        floor = qparams.min_weight_scales_for_bias(b, input_quant.s, np.zeros_like(qw.scales), bias_dtype,
                                                   output_quant.s if output_quant is not None else None)
        if np.any(floor > qw.scales):
            qw = quantize_weights(w, rule.channel_axis, dtype, per_channel, clip, min_scales=floor)
    if rounder is not None:  # GPTQ's integers (and with the MSE clip, scales) that lower the layer's output error
        qw = rounder.round(op, w, qw, centred=False, floor=floor, search=clip == "mse")
    shift = None
    x = op.inputs[rule.activation_inputs[0]]
    if config.bias_correction and b is not None and x in stats:
        shift = output_shift(op, w, qw.dequantized, stats[x].channel_mean)
        b = b - shift
    q_bias = None if b is None else qparams.quantize_bias(b, input_quant.s, qw.scales, bias_dtype)
    return qw, q_bias, shift


def _activation_tensor(graph: Graph, q: int, choice: ActivationChoice, layout: Layout | None):
    origin = layout.origin[q] if layout is not None else q
    base = graph.tensors[origin]
    name = base.name if q == origin else f"{base.name}_{choice.dtype}"
    tensor = replace(base, index=q, name=name, dtype=choice.dtype, quant=choice.quant)
    if base.is_const:  # a float constant used as data, e.g. an ADD operand
        lo, hi = qparams.INT_RANGES[choice.dtype]
        q_data = qmath.round_half_away(np.asarray(base.data, dtype=np.float64) / choice.quant.s) + choice.quant.zp
        tensor = replace(tensor, data=_frozen(np.clip(q_data, lo, hi).astype(choice.dtype)))
    return tensor


def _op_options(op: Operator, width: str):
    """16x8 options as the converter writes them: INT64 bias type, general-scale int16 ADD/SUB."""
    if width != "int16" or op.options is None:
        return op.options
    if hasattr(op.options, "quantized_bias_type"):
        return replace(op.options, quantized_bias_type="INT64")
    if hasattr(op.options, "pot_scale_int16"):
        return replace(op.options, pot_scale_int16=False)
    return op.options


def _conversion(source: int, target: int, dtypes: dict) -> Operator:
    return Operator(index=0, op="quantize", inputs=(source,), outputs=(target,),
                    version=QUANTIZE_VERSION[dtypes[target]])


def build_quantized_graph(graph: Graph, acts: dict[int, ActivationChoice], weight_dtypes: dict[int, str],
                          config: QuantizeConfig, stats: dict[int, TensorStats],
                          layout: Layout | None = None, rounder=None) -> tuple[Graph, dict[int, WeightChoice]]:
    """The integer graph; `layout` (widths.py) places int8 and int16 tensors (None: all int8)."""
    count = max(acts, default=-1) + 1
    tensors = list(graph.tensors) + [None] * max(0, count - len(graph.tensors))
    for q, choice in acts.items():
        tensors[q] = _activation_tensor(graph, q, choice, layout)
    dtypes = {q: c.dtype for q, c in acts.items()}
    reads = layout.reads if layout is not None else {}
    pending = list(layout.conversions) if layout is not None else []

    operators = []
    weights: dict[int, WeightChoice] = {}
    for op in graph.operators:
        operators += [_conversion(s, t, dtypes) for s, t, before in pending if before == op.index]
        inputs = tuple(reads.get((op.index, p), t) for p, t in enumerate(op.inputs))
        width = layout.op_dtypes.get(op.index, "int8") if layout is not None else "int8"
        rule = RULES[op.op]
        in_float = layout is not None and op.index in layout.float_ops
        if rule.float_island or in_float or not _holds(rule, op, width, inputs, acts):
            # the island's DEQUANTIZE reads the float graph's own tensors, whatever width copies the layout made
            operators += _float_island(graph, op, op.inputs, tensors, acts)
            continue
        # a RELU6 reading a tensor far wider than what it passes reads a copy at its output's parameters
        if rule.inputs_as_output or (rule.output_as_input and rule.input_saturates is not None):
            requantize, inputs = _requantized_inputs(op, inputs, tensors, acts)
            operators += requantize
        if op.op == "cumsum":
            requantize, inputs = _cumsum_input(op, inputs, tensors, acts)
            operators += requantize
        version = activation_op_version(graph, op) if rule.weights is None else rule.version
        if rule.weights is not None:
            dtype = weight_dtypes.get(op.index, "int8")
            x_quant = acts[inputs[rule.activation_inputs[0]]].quant
            qw, q_bias, shift = quantize_op_weights(graph, op, x_quant, dtype, config, stats, BIAS_DTYPE[width],
                                                    acts[op.outputs[0]].quant,
                                                    rounder if config.gptq_rounds(dtype, width) else None)
            w_t = tensors[op.inputs[rule.weights]]
            tensors[w_t.index] = replace(
                w_t, dtype=dtype, data=_frozen(qw.q),
                quant=Quant(scale=tuple(float(s) for s in qw.scales), zero_point=(0,) * len(qw.scales),
                            axis=rule.channel_axis if len(qw.scales) > 1 else 0))
            b_t = bias_tensor(graph, op)
            if b_t is not None:
                scales = qparams.bias_scales(x_quant.s, qw.scales).astype(np.float32)
                tensors[b_t.index] = replace(
                    b_t, dtype=BIAS_DTYPE[width], data=_frozen(q_bias.reshape(b_t.shape)),
                    quant=Quant(scale=tuple(float(s) for s in scales), zero_point=(0,) * len(scales), axis=0))
            weights[op.index] = WeightChoice(op.index, qw, shift)
            version = int8_version(op.op, dtype, has_bias=b_t is not None,
                                   keep_num_dims=bool(option(op, "keep_num_dims", False)))
        elif rule.recurrent is not None:  # the LSTM: int8 weights whatever the weight mode, an int16 cell
            version = quantize_recurrent_op(graph, op, inputs, tensors, acts, stats, width, BIAS_DTYPE[width],
                                            config.weight_clip("int8"))
        elif op.op == "mul":
            a, b = (tensors[i].quant.s for i in inputs[:2])
            version = int8_version("mul", "int8", mul_rescale_ge_one=a * b / tensors[op.outputs[0]].quant.s >= 1.0)
        operators.append(replace(op, inputs=inputs, version=version, options=_op_options(op, width)))
    operators += [_conversion(s, t, dtypes) for s, t, before in pending if before == len(graph.operators)]

    qgraph = replace(graph, tensors=tuple(tensors), operators=renumber_ops(operators),
                     inputs=layout.inputs if layout is not None else graph.inputs,
                     outputs=layout.outputs if layout is not None else graph.outputs)
    if config.io == "float":
        qgraph = _float_boundaries(qgraph, graph)
    return qgraph, weights


def _holds(rule, op: Operator, width: str, inputs: tuple[int, ...], acts: dict) -> bool:
    """QuantRule.holds at the width and parameters chosen for the op's data (True without such a rule)."""
    if rule.holds is None:
        return True
    data = [t for t in inputs if t != NO_TENSOR and t in acts]
    return all(t in acts for t in op.outputs) and rule.holds(op, width, tuple(acts[t].quant for t in data),
                                                             acts[op.outputs[0]].quant)


def _requantized_inputs(op: Operator, inputs: tuple[int, ...], tensors: list,
                        acts: dict) -> tuple[list[Operator], tuple[int, ...]]:
    """QUANTIZE (a requantize) before each input of a concatenation (MAXIMUM, PACK, ...) whose parameters are not
    its output's: a fixed output or a narrow input read elsewhere (tie_groups' range_only) keeps its own, TFLM's
    kernel copies bytes."""
    out = tensors[op.outputs[0]]
    ops, reads = [], []
    copies: dict[int, int] = {}  # an input read twice (concat(x, y, x)) is requantized once
    for t in inputs:
        if t == NO_TENSOR or t not in acts or tensors[t].quant is None or tensors[t].quant == out.quant:
            reads.append(t)
            continue
        if t in copies:
            reads.append(copies[t])
            continue
        copies[t] = len(tensors)
        tensors.append(replace(tensors[t], index=len(tensors), name=f"{tensors[t].name}_requantized",
                               dtype=out.dtype, quant=out.quant, data=None, shape_signature=None))
        ops.append(Operator(index=0, op="quantize", inputs=(t,), outputs=(len(tensors) - 1,),
                            version=REQUANTIZE_VERSION))
        reads.append(len(tensors) - 1)
    return ops, tuple(reads)


def _cumsum_input(op: Operator, inputs: tuple[int, ...], tensors: list,
                  acts: dict) -> tuple[list[Operator], tuple[int, ...]]:
    """QUANTIZE (a requantize) before a CUMSUM whose input is not at zero point 0: its group is a fixed output
    (a softmax's cumulative distribution), whose parameters win over the CUMSUM's zero point 0."""
    x = tensors[inputs[0]]
    if inputs[0] not in acts or x.quant is None or x.dtype != "int8" or x.quant.zp == 0:
        return [], inputs
    lo, hi = acts[op.outputs[0]].observed
    quant = zero_point_0_copy(acts[inputs[0]], max(abs(lo), abs(hi)))
    tensors.append(replace(x, index=len(tensors), name=f"{x.name}_requantized", quant=quant, data=None,
                           shape_signature=None))
    return [Operator(index=0, op="quantize", inputs=(inputs[0],), outputs=(len(tensors) - 1,),
                     version=REQUANTIZE_VERSION)], (len(tensors) - 1,) + inputs[1:]


def _float_island(graph: Graph, op: Operator, inputs: tuple[int, ...], tensors: list, acts: dict) -> list[Operator]:
    """`op` as it is in the float model, its integer inputs dequantized first and its outputs quantized
    after (new float32 tensors appended to `tensors` carry the values in between)."""
    def float_copy(t: int, suffix: str) -> int:
        tensors.append(replace(graph.tensors[t], index=len(tensors), name=f"{graph.tensors[t].name}_{suffix}",
                               quant=None, shape_signature=None))
        return len(tensors) - 1

    before, after, reads, writes = [], [], [], []
    for t in inputs:
        if t == NO_TENSOR or t not in acts:
            reads.append(t)  # its float constants, shapes and indices stay as they are
        elif graph.tensors[t].is_const:
            reads.append(float_copy(t, "float"))  # a constant another op quantized: its exact float values
        else:
            f = float_copy(t, "float")
            before.append(Operator(index=0, op="dequantize", inputs=(t,), outputs=(f,),
                                   version=DEQUANTIZE_VERSION[tensors[t].dtype]))
            reads.append(f)
    for t in op.outputs:
        if t in acts:
            f = float_copy(t, "float")
            after.append(_conversion(f, t, {t: acts[t].dtype}))
            writes.append(f)
        else:
            writes.append(t)
    return before + [replace(op, inputs=tuple(reads), outputs=tuple(writes))] + after


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
        dtype = tensors[t].dtype
        tensors.append(replace(tensors[t], index=inner, name=f"{tensors[t].name}_{dtype}", shape_signature=None))
        tensors[t] = replace(float_graph.tensors[t], quant=None)
        rename[t] = inner
        head.append(Operator(index=0, op="quantize", inputs=(t,), outputs=(inner,), version=QUANTIZE_VERSION[dtype]))
    for pos, t in enumerate(qgraph.outputs):
        if float_graph.tensors[t].dtype != "float32":
            continue
        outer = len(tensors)
        source = rename.get(t, t)
        tensors.append(replace(float_graph.tensors[t], index=outer, quant=None))
        outputs[pos] = outer
        tail.append(Operator(index=0, op="dequantize", inputs=(source,), outputs=(outer,),
                             version=DEQUANTIZE_VERSION[qgraph.tensors[source].dtype]))
    body = [replace(op, inputs=tuple(rename.get(i, i) for i in op.inputs)) for op in qgraph.operators]
    return replace(qgraph, tensors=tuple(tensors), operators=renumber_ops(head + body + tail),
                   outputs=tuple(outputs))
