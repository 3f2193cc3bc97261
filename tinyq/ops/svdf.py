"""SVDF, integer: int8 input and output, int8 feature weights, an int8 or int16 memory (the state)
with time weights of the same type, int32 bias — TFLM's EvalIntegerSvdfReference.

Each invoke shifts the whole state left by one element (the oldest column of every filter falls
out), writes each filter's feature sum of the new input, requantized and saturated to the state's
type, plus the state's zero point, as the filter's newest column, then per unit sums bias + the
time-weighted memory of its `rank` filters and requantizes that to the output. The state is a
variable tensor kept across invokes (tinyq/plan/state.py).

TFLM's integer SVDF ignores the fused activation (it clamps to int8 only), reads the bias's scale
in Prepare whether or not there is a bias (so a model without one crashes there), and computes both
requantization scales in float32 before widening them; tinyq does the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32 as f32_ops  # `f32` is np.float32 in lower()
from tinyq.ops.base import ConstArray, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.common import bias_array, require_const, require_int8, require_shifts


@dataclass(frozen=True)
class SVDFOptions:
    rank: int = 0
    fused_activation_function: str = "NONE"
    asymmetric_quantize_inputs: bool = False


@dataclass(frozen=True)
class SvdfParams:
    batches: int
    input_size: int
    filters: int
    units: int
    rank: int
    memory: int  # columns of state per filter (the time weights' second dimension)
    input_zero_point: int
    state_zero_point: int
    output_zero_point: int
    feature_multiplier: int  # input x feature weights -> state
    feature_shift: int
    output_multiplier: int  # state x time weights -> output
    output_shift: int
    state_min: int  # the state's type range: the feature sums saturate to it
    state_max: int


# Prepare's check: the bias scale within 1e-5 of the state scale times the time weights' scale.
BIAS_SCALE_TOLERANCE = 1e-5
STATE_RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


def _require_2d(graph: Graph, op: Operator, t: Tensor, role: str) -> None:
    if len(t.shape) != 2:
        raise unsupported(graph, op, f"{role} {list(t.shape)} must be 2-D", "TFLM's SVDF reads it so")


def _geometry(graph: Graph, op: Operator, x: Tensor, y: Tensor, w_feature: Tensor, w_time: Tensor, state: Tensor,
              bias: Tensor | None = None) -> tuple[int, int, int, int, int]:
    """(batches, input size, filters, memory, units), refusing shapes that do not agree (and a bias,
    when given, that does not have one value per unit)."""
    for t, role in ((x, "input"), (y, "output"), (w_feature, "feature weights"), (w_time, "time weights"),
                    (state, "state")):
        _require_2d(graph, op, t, role)
    rank = op.options.rank
    if rank <= 0 or w_feature.shape[0] % rank:
        raise unsupported(graph, op, f"rank {rank} does not divide the {w_feature.shape[0]} filters",
                          "the file is corrupt")
    batches, input_size = x.shape
    filters, memory = w_feature.shape[0], w_time.shape[1]
    units = filters // rank
    if w_feature.shape[1] != input_size or w_time.shape[0] != filters or tuple(y.shape) != (batches, units) \
            or tuple(state.shape) != (batches, memory * filters) or (bias is not None and bias.shape[:1] != (units,)):
        shown = f"bias {list(bias.shape)}, " if bias is not None else ""
        raise unsupported(graph, op, f"input {list(x.shape)}, feature weights {list(w_feature.shape)}, time weights "
                                     f"{list(w_time.shape)}, {shown}state {list(state.shape)} and "
                                     f"output {list(y.shape)} do not agree", "the model's shapes are inconsistent")
    return batches, input_size, filters, memory, units


def lower(graph: Graph, op: Operator) -> Lowered:
    opts: SVDFOptions = op.options
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    if len(ins) != 5 or len(outs) != 1 or None in (ins[0], ins[1], ins[2], ins[4]):
        raise unsupported(graph, op, "needs input, feature weights, time weights, bias and state (5 inputs) and one "
                                     "output", "the file is corrupt")
    x, w_feature, w_time, bias, state = ins
    (y,) = outs
    if f32_ops.is_float(x):
        return lower_f32(graph, op, x, w_feature, w_time, bias, state, y)
    require_int8(graph, op, x, y, what="SVDF tensor")
    require_const(graph, op, w_feature, "feature weights")
    require_const(graph, op, w_time, "time weights")
    require_int8(graph, op, w_feature, what="feature weights")
    if bias is None:
        raise unsupported(graph, op, "an int8 SVDF without a bias is not supported",
                          "TFLM's Prepare reads the bias's scale and crashes without one")
    if w_time.dtype not in STATE_RANGES or state.dtype != w_time.dtype:
        raise unsupported(graph, op, f"time weights {w_time.dtype} and state {state.dtype} must both be int8 or "
                                     "int16", "TFLM reads the state in the time weights' type")
    if not state.is_variable or state.is_const:
        raise unsupported(graph, op, f"the state (tensor {state.index}) is not a variable tensor",
                          "TFLM's SVDF keeps its memory in a variable tensor")
    for t, role in ((w_feature, "feature weights"), (w_time, "time weights"), (state, "state"), (bias, "bias")):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(graph, op, f"{role} must be quantized per tensor", "TFLM's SVDF reads one scale")
    batches, input_size, filters, memory, units = _geometry(graph, op, x, y, w_feature, w_time, state, bias)
    f32 = np.float32
    state_scale = f32(state.quant.s)
    if abs(qmath.f32(bias.quant.s) - float(state_scale * f32(w_time.quant.s))) >= BIAS_SCALE_TOLERANCE:
        raise unsupported(graph, op, f"bias scale {bias.quant.s:.6g} is not state scale x time weight scale",
                          "TFLM's Prepare refuses it; re-quantize the model")
    # PrepareSvdf: the scale products and quotients in float32, widened to double
    feature = qmath.quantize_multiplier(float(f32(x.quant.s) * f32(w_feature.quant.s) / state_scale))
    output = qmath.quantize_multiplier(float(state_scale * f32(w_time.quant.s) / f32(y.quant.s)))
    require_shifts(graph, op, [feature[1], output[1]])
    state_min, state_max = STATE_RANGES[state.dtype]
    params = SvdfParams(
        batches=batches, input_size=input_size, filters=filters, units=units, rank=opts.rank, memory=memory,
        input_zero_point=x.quant.zp, state_zero_point=state.quant.zp, output_zero_point=y.quant.zp,
        feature_multiplier=feature[0], feature_shift=feature[1], output_multiplier=output[0],
        output_shift=output[1], state_min=state_min, state_max=state_max)
    ctype = "int16_t" if state.dtype == "int16" else "int8_t"
    consts = (ConstArray("feature_weights", "int8_t", np.asarray(w_feature.data, dtype=np.int8)),
              ConstArray("time_weights", ctype, np.asarray(w_time.data, dtype=ctype[:-2])),
              bias_array(graph, op, bias, units))
    kernel = "svdf" + ("_state_s16" if state.dtype == "int16" else "")
    return Lowered(op=op, kernel=kernel, params=params, inputs=(x.index, state.index), outputs=(y.index,),
                   consts=consts)


@dataclass(frozen=True)
class SvdfF32Params:
    batches: int
    input_size: int
    filters: int
    units: int
    rank: int
    memory: int
    activation: int  # tq_svdf_f32.h's TQ_SVDF_ACT_*
    has_bias: bool


# ActivationValFloat's cases, in tq_svdf_f32.h's order
F32_ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")  # the schema has no SIGMOID


def lower_f32(graph: Graph, op: Operator, x, w_feature, w_time, bias, state, y) -> Lowered:
    """float32: EvalFloatSvdfReference, the fused activation applied (ActivationValFloat: RELU through
    glibc's fmaxf/fminf, TANH, SIGN_BIT)."""
    opts: SVDFOptions = op.options
    f32_ops.require_float32(graph, op, x, state, y, what="SVDF tensor")
    f32_ops.require_const_float(graph, op, w_feature, "feature weights")
    f32_ops.require_const_float(graph, op, w_time, "time weights")
    if not state.is_variable or state.is_const:
        raise unsupported(graph, op, f"the state (tensor {state.index}) is not a variable tensor",
                          "TFLM's SVDF keeps its memory in a variable tensor")
    if opts.fused_activation_function not in F32_ACTIVATIONS:
        raise unsupported(graph, op, f"fused activation {opts.fused_activation_function} is not supported")
    batches, input_size, filters, memory, units = _geometry(graph, op, x, y, w_feature, w_time, state)
    biases = f32_ops.bias_array(graph, op, bias, units)
    params = SvdfF32Params(batches=batches, input_size=input_size, filters=filters, units=units, rank=opts.rank,
                           memory=memory, activation=F32_ACTIVATIONS.index(opts.fused_activation_function),
                           has_bias=bool(biases))
    consts = (f32_ops.float_array(w_feature, "feature_weights"), f32_ops.float_array(w_time, "time_weights"), *biases)
    return Lowered(op=op, kernel="svdf_f32", params=params, inputs=(x.index, state.index), outputs=(y.index,),
                   consts=consts)


SPECS = [OpSpec(
    name="svdf", builtin="SVDF", options=SVDFOptions, fb_options="SVDFOptions", lower=lower,
    kernels=(reference_kernel("svdf"), reference_kernel("svdf_state_s16"), reference_kernel("svdf_f32")),
    doc="int8 input and output, int8 feature weights, int8 or int16 state with time weights of its type, int32 "
        "bias, any rank and batch; the state kept across invokes (reset: tinyq_<name>_reset); the fused activation "
        "ignored as TFLM's integer SVDF does; float32 (its fused activation applied, as TFLM's float SVDF)")]
