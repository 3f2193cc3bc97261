"""Float graph -> the float graph the quantizer calibrates and rewrites.

Passes, in order: fold constant subgraphs (dynamic-batch reshapes), turn hybrid
weights (int8 weights next to float activations) back into float, give every
weight and bias tensor a single user, and check that every op can be quantized:
weights and biases constant, finite, of their op's rank and channel count, and
every activation of the shape and type its op computes. The last check is
LiteRT's shape inference (the float reference runs it anyway) against what the
file declares: TFLM trusts the declared shapes, so a model whose ops disagree
with them would make the self-check read or write out of bounds.
Tensor indices of the prepared graph are the ones the int8 graph keeps, which is
how reports pair a float tensor with its quantized twin.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np

from tinyq.errors import TinyqError, UnsupportedError
from tinyq.ir import DTYPES, NO_TENSOR, Graph, Tensor, describe_op
from tinyq.passes.fold import dequantized_data, fold_constants
from tinyq.passes.graph_edit import compact, option, renumber_ops
from tinyq.passes.split_concat import split_wide_concatenations
from tinyq.passes.tflm_equivalents import with_tflm_ops
from tinyq.quantize.floatrun import computed_outputs, zero_input_values
from tinyq.quantize.isolated import in_child
from tinyq.quantize.masks import mask_operand, run_time_mask
from tinyq.quantize.qparams import VALUE_LIMIT
from tinyq.quantize.rules import RULES, parameter_positions
from tinyq.tflm_ops import tflm_runs

# the weights' rank in TFLite's layout: conv and transpose conv [out, kh, kw, in], depthwise [1, kh, kw, out],
# FC [out, in]
WEIGHT_RANK = {"conv_2d": 4, "depthwise_conv_2d": 4, "fully_connected": 2, "transpose_conv": 4}
REEXPORT = "the file does not match its ops: re-export the model"


def prepare_float_graph(graph: Graph, where: str = "model") -> Graph:
    _check_float_model(graph, where)
    graph = fold_constants(graph)
    graph = _dequantize_hybrid_weights(graph)
    graph = _fold_constant_ops(graph, where)
    graph = _unshare_parameters(graph)
    graph = split_wide_concatenations(with_tflm_ops(graph))  # a TILE may become a wide one
    _check_ops(graph)
    _check_types(graph)
    _check_options(graph)
    _check_weights(graph)
    return _check_shapes(graph, where)


# a model's state between invokes (a Keras layer with stateful=True): tinyq does not quantize resource variables
STATE_OPS = frozenset({"call_once", "var_handle", "read_variable", "assign_variable"})
# ops whose result is not a function of their constant operands alone
KEEPS_STATE = STATE_OPS | {"while", "if", "custom:CIRCULAR_BUFFER"}


def _fold_constant_ops(graph: Graph, where: str) -> Graph:
    """Ops that only constants reach become constants, computed by the float reference. A dynamic batch's
    RNN zero state is a FILL (its dims are constant once fold_constants fixed the batch) that feeds
    FULLY_CONNECTED and MUL with constants only: TFLM runs those, but a quantized kernel reads its data operand
    from the arena, where a constant has no place, so the TFLite converter folds them too."""
    if graph.subgraphs:  # control flow: ops are not folded across subgraphs
        return graph
    const = {t.index for t in graph.tensors if t.is_const}
    folded = []
    for op in graph.operators:
        ins = [i for i in op.inputs if i != NO_TENSOR]
        if ins and all(i in const for i in ins) and op.op not in KEEPS_STATE and \
                not set(op.outputs) & set(graph.outputs):
            folded.append(op.index)
            const.update(op.outputs)
    if not folded:
        return graph
    wanted = [t for op in graph.operators if op.index in folded for t in op.outputs]
    values = in_child(zero_input_values, graph, wanted, engine="LiteRT", doing="running the float model",
                      where=where)
    tensors = list(graph.tensors)
    for t in wanted:  # LiteRT's shape: a dynamic batch's file may declare another
        data = np.array(values[t], dtype=DTYPES[tensors[t].dtype][0])
        data.flags.writeable = False
        tensors[t] = replace(tensors[t], shape=tuple(data.shape), data=data, shape_signature=None)
    kept = [op for op in graph.operators if op.index not in folded]
    return compact(replace(graph, tensors=tuple(tensors), operators=renumber_ops(kept)))


def _check_float_model(graph: Graph, where: str) -> None:
    acts = [graph.tensors[i] for i in graph.inputs]
    if acts and all(t.dtype in ("int8", "uint8", "int16") and t.quant is not None for t in acts):
        # uint8 past the edges is TF1's quantization: neither TFLM nor tinyq runs it, only its float model helps
        uint8_inside = any(graph.tensors[t].dtype == "uint8" for op in graph.operators
                           if op.op not in ("quantize", "dequantize") for t in op.inputs if t >= 0)
        raise TinyqError("the model is already quantized (its inputs are integer)", where=where,
                         hint="pass the float model it came from: this one computes in uint8, which TFLM and tinyq "
                              "have no kernels for" if uint8_inside else
                              "pass the float model; tinyq generate/verify take this one as it is")
    # float inputs, integer inside (QUANTIZE in, DEQUANTIZE out, a float op or two around: MCUNet's, GreenWaves'
    # MLPerf and OpenMV's files): the quantizer would meet QUANTIZE as a float op it cannot quantize
    integer = next((t for op in graph.operators if op.op not in ("quantize", "dequantize")
                    for t in (graph.tensors[i] for i in op.inputs if i >= 0)
                    if t.dtype in ("int8", "int16") and t.quant is not None and not t.is_const), None)
    if integer is not None:
        raise TinyqError(f"the model is already quantized (its ops compute in {integer.dtype}, float only around "
                         "them)", where=where,
                         hint="pass the float model; tinyq generate/verify take this one as it is")
    # a float input counts: a comparison's bool output is the whole model's result
    if not any(graph.tensors[t].dtype == "float32" for op in graph.operators for t in op.outputs) and \
            not any(t.dtype == "float32" for t in acts):
        raise TinyqError("the model has no float32 activations to quantize", where=where)


def _dequantize_hybrid_weights(graph: Graph) -> Graph:
    """Constant int8 tensors feeding float ops become float32 (KWS float model: hybrid conv)."""
    tensors = list(graph.tensors)
    operators = list(graph.operators)
    for pos, op in enumerate(graph.operators):
        ins = [graph.tensor(i) for i in op.inputs]
        has_float_data = any(t is not None and not t.is_const and t.dtype == "float32" for t in ins)
        if not has_float_data:
            continue
        changed = False
        for t in ins:
            if t is not None and t.is_const and t.dtype in ("int8", "uint8", "int4") and t.quant is not None:
                data = dequantized_data(t)
                data.flags.writeable = False
                tensors[t.index] = replace(t, dtype="float32", quant=None, data=data)
                changed = True
        if changed:
            operators[pos] = replace(op, version=1)
    return replace(graph, tensors=tuple(tensors), operators=tuple(operators))


def _unshare_parameters(graph: Graph) -> Graph:
    """A weight or bias used by two ops gets a copy per op: each is quantized for its own op. So does
    one that another op reads as data (an unrolled LSTM's bias is an FC's bias and each step's ADD
    operand): the bias becomes int32 at the FC's scale, the ADDs keep the float data to quantize."""
    tensors = list(graph.tensors)
    operators = list(graph.operators)
    uses = Counter(i for op in graph.operators for i in op.inputs if i != NO_TENSOR)
    seen: set[int] = set()
    for pos, op in enumerate(graph.operators):
        rule = RULES.get(op.op)
        if rule is None or not parameter_positions(rule):
            continue
        inputs = list(op.inputs)
        for role, _ in parameter_positions(rule):
            if role >= len(inputs) or inputs[role] == NO_TENSOR:
                continue
            t = tensors[inputs[role]]
            if t.index in seen or uses[t.index] > 1:
                copy = replace(t, index=len(tensors), name=f"{t.name}_{op.index}")
                tensors.append(copy)
                inputs[role] = copy.index
            seen.add(inputs[role])
        operators[pos] = replace(op, inputs=tuple(inputs))
    return replace(graph, tensors=tuple(tensors), operators=renumber_ops(operators))


INTEGER_IDS = ("int32", "int64", "int16", "int8", "uint8")


def _check_ops(graph: Graph) -> None:
    for op in graph.operators:
        if op.op in STATE_OPS and op.op not in RULES:
            raise UnsupportedError("the model keeps state in resource variables (a Keras layer with stateful=True), "
                                   "which tinyq does not quantize", where=describe_op(graph, op),
                                   hint="give tinyq the converter's int8 file of it, or export with stateful=False")
        if op.op not in RULES:
            floats = [graph.tensors[t] for t in op.inputs + op.outputs
                      if t != NO_TENSOR and graph.tensors[t].dtype == "float32"]
            what = f"float op {op.op} cannot be quantized by tinyq" if floats else \
                f"op {op.op} (on {graph.tensors[op.outputs[0]].dtype if op.outputs else 'no'} data) " \
                "is not supported by the quantizer"
            if not tflm_runs(op.op):  # quantizing it would not help: no TFLM build runs the op at all
                raise UnsupportedError(f"{what}, and TFLM has no kernel for it: no TFLM build runs this model",
                                       where=describe_op(graph, op), hint="express that part with ops TFLM has "
                                       "(docs/ops.md lists them) and re-export")
            if op.op == "cast" and floats and graph.tensors[op.outputs[0]].dtype in INTEGER_IDS:
                raise UnsupportedError(f"{what}: it makes integers (token ids?) of float values, which a quantized "
                                       "model holds only approximately", where=describe_op(graph, op),
                                       hint="give the model integer inputs (int32 token ids) instead of casting floats")
            raise UnsupportedError(what, where=describe_op(graph, op),
                                   hint="TFLM runs it in float: generate the float model as it is, or give tinyq "
                                        "the TFLite converter's int8 file of it (docs/ops.md: the ops tinyq quantizes)")


# option values a float op may have that its int8 version in TFLM cannot: op -> (option, allowed, why)
OPTION_RULES = {
    "softmax": ("beta", lambda beta: beta > 0, "TFLM's int8 softmax needs beta > 0; it aborts on any other"),
}


def _check_options(graph: Graph) -> None:
    for op in graph.operators:
        if op.op not in OPTION_RULES:
            continue
        name, allowed, why = OPTION_RULES[op.op]
        value = option(op, name)
        if value is not None and not allowed(value):
            raise UnsupportedError(f"{name} is {value:g}", where=describe_op(graph, op), hint=why)


def _check_weights(graph: Graph) -> None:
    for op in graph.operators:
        rule = RULES[op.op]
        if rule.recurrent is not None:  # its own check first: a missing gate says which LSTM variant it is
            rule.recurrent.check(graph, op)
        for role, name in parameter_positions(rule):
            if role >= len(op.inputs) or op.inputs[role] == NO_TENSOR:
                if name == "weights":
                    raise UnsupportedError("has no weights input", where=describe_op(graph, op), hint=REEXPORT)
                continue
            t = graph.tensors[op.inputs[role]]
            if not t.is_const:
                raise UnsupportedError(f"{name} are computed at run time; tinyq quantizes constant {name} only",
                                       where=describe_op(graph, op), hint="export the model with constant "
                                                                          f"{name} (frozen variables)")
            if t.dtype != "float32":
                raise UnsupportedError(f"{name} are {t.dtype}; expected float32", where=describe_op(graph, op),
                                       hint="the quantizer takes float32 weights and biases, or int8 weights "
                                            "with quantization parameters beside float activations")
        if rule.weights is not None:
            _check_weight_shapes(graph, op)
        saturating = set(op.inputs) if rule.constants_saturate else set()
        for t in graph.op_inputs(op):
            if t is None or not t.is_const or t.dtype != "float32" or t.numel == 0:
                continue
            if t.index in saturating and saturates(t):
                continue  # quantizes to the type's end: a padded max pool pads with -inf or -FLT_MAX
            finite = bool(np.all(np.isfinite(t.data)))
            largest = float(np.max(np.abs(t.data))) if finite else math.inf
            if largest > VALUE_LIMIT and _is_mask(graph, op, t):
                continue  # an attention mask: its -inf becomes finite with the calibration data (masks.py)
            if not finite:
                raise TinyqError(f"constant tensor {t.index} ({t.name}) holds NaN/Inf",
                                 where=describe_op(graph, op), hint="the float model is broken")
            if largest > VALUE_LIMIT:
                raise TinyqError(f"constant tensor {t.index} ({t.name}) holds {largest:.3g}, beyond the 2^60 "
                                 "the quantizer's scale arithmetic takes", where=describe_op(graph, op),
                                 hint="the float model is broken")


def _is_mask(graph: Graph, op, t: Tensor) -> bool:
    """Whether constant t is the masking operand of an attention mask (masks.py)."""
    return any(found is not None and found[0].index == t.index
               for found in (mask_operand(graph, op), run_time_mask(graph, op)))


def _check_weight_shapes(graph: Graph, op) -> None:
    rule = RULES[op.op]
    w = graph.tensors[op.inputs[rule.weights]]
    rank = WEIGHT_RANK.get(op.op)
    if rank is not None and len(w.shape) != rank:
        raise TinyqError(f"weights {w.index} ({w.name}) have shape {list(w.shape)}; {op.op} takes {rank}-D weights",
                         where=describe_op(graph, op), hint=REEXPORT)
    if w.numel == 0:
        raise TinyqError(f"weights {w.index} ({w.name}) are empty, shape {list(w.shape)}",
                         where=describe_op(graph, op), hint=REEXPORT)
    channels = w.shape[rule.channel_axis]
    if rule.bias is not None and rule.bias < len(op.inputs) and op.inputs[rule.bias] != NO_TENSOR:
        b = graph.tensors[op.inputs[rule.bias]]
        if len(b.shape) != 1 or b.numel != channels:
            raise TinyqError(f"bias {b.index} ({b.name}) has shape {list(b.shape)} for {channels} output channels "
                             f"(weights {list(w.shape)})", where=describe_op(graph, op), hint=REEXPORT)


def _check_types(graph: Graph) -> None:
    """Every tensor an op reads or writes has a type the quantizer computes with (float32 data; integer and
    bool shapes, indices and counts), before LiteRT sees the model."""
    for op in graph.operators:
        for t in graph.op_inputs(op) + [graph.tensors[i] for i in op.outputs]:
            if t is not None and t.dtype not in DTYPES:
                raise UnsupportedError(f"tensor {t.index} ({t.name}) is {t.dtype}", where=describe_op(graph, op),
                                       hint="the quantizer takes float32 models, with integer tensors for shapes "
                                            "and indices")


def _check_shapes(graph: Graph, where: str) -> Graph:
    """Every op output has the shape and type the file declares, as LiteRT computes them from the op's inputs.
    LiteRT meets the model here first, in a child process: a crash on a malformed model is one error line.
    A dimension the file declares dynamic (-1 in its signature) takes the computed size: a Keras model's
    dilated convolution declares SPACE_TO_BATCH_ND's output batch 1 where the block makes it 4, and TFLM,
    which trusts the declared shape, would compute a quarter of it."""
    computed = in_child(computed_outputs, graph, engine="LiteRT", doing="running the float model", where=where)
    tensors = list(graph.tensors)
    for op in graph.operators:
        for t in op.outputs:
            tensor = graph.tensors[t]
            if t not in computed:
                continue
            shape, dtype = computed[t]
            if shape != tuple(tensor.shape) and _dynamic_dims_differ(tensor, shape):
                tensors[t] = replace(tensor, shape=tuple(shape))
            elif shape != tuple(tensor.shape):
                raise TinyqError(f"output {t} ({tensor.name}) is declared {list(tensor.shape)} but the op computes "
                                 f"{list(shape)} from its inputs", where=describe_op(graph, op), hint=REEXPORT)
            if dtype != tensor.dtype and tensor.dtype in DTYPES:
                raise TinyqError(f"output {t} ({tensor.name}) is declared {tensor.dtype} but the op computes {dtype} "
                                 "from its inputs", where=describe_op(graph, op), hint=REEXPORT)
    return replace(graph, tensors=tuple(tensors))


def _dynamic_dims_differ(tensor, shape: tuple[int, ...]) -> bool:
    """Only dimensions the file's shape signature leaves dynamic differ from the computed shape."""
    signature = tensor.shape_signature
    if not signature or len(signature) != len(shape) or len(tensor.shape) != len(shape):
        return False
    return all(d == c or s < 0 for d, c, s in zip(tensor.shape, shape, signature))


def saturates(t: Tensor) -> bool:
    """A float constant of infinities or values beyond VALUE_LIMIT only: PyTorch pads a max pool with -inf,
    TensorFlow (ai-edge-quantizer's padv2_inf_max_pool_2d) with -FLT_MAX."""
    return t.is_const and t.dtype == "float32" and t.numel > 0 and \
        bool(np.all(np.isinf(t.data) | (np.abs(t.data) > VALUE_LIMIT)))


def infinitely_padded(graph: Graph) -> set[int]:
    """Outputs of ops whose infinite constant saturates (QuantRule.constants_saturate: PADV2 padding with
    -inf or -FLT_MAX, a max pool with padding, whose MAX_POOL after never picks the pad). Their infinities
    are the constant's, which quantizes to the data's lowest (highest) level: calibration sees them as that
    level, not as values to cover. So are the slices of them and their MAXIMUMs (a dilated max pool: one
    strided slice per window position, tinyq.passes.tflm_equivalents), which share their parameters."""
    padded = set()
    for op in graph.operators:
        if op.op in RULES and RULES[op.op].constants_saturate and any(
                saturates(t) for t in graph.op_inputs(op) if t is not None):
            padded.update(op.outputs)
        elif op.op in CARRY_PADDING and padded & set(op.inputs):
            padded.update(op.outputs)
    return padded


CARRY_PADDING = frozenset({"strided_slice", "slice", "maximum"})


def without_padded_infinities(values: np.ndarray) -> np.ndarray:
    """`values` with each infinity (or value beyond VALUE_LIMIT) replaced by the nearest finite value among
    them (NaN stays NaN)."""
    finite = np.abs(values) <= VALUE_LIMIT
    if finite.all() or not finite.any():
        return values
    return np.clip(values, values[finite].min(), values[finite].max())
