"""FULLY_CONNECTED: int8 x int8 -> int8, per-tensor or per-channel weights; int4 weights per tensor;
16x8 (int16 activations, int8 weights, int64 or int32 bias)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32, int4, s16
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import (bias_array, bias_array_s16, fused_range, io, require_const, require_int8,
                              require_int8_or_int16, require_shifts, requant_arrays)
from tinyq.ops.conv_2d import acc_init_arrays, blocked_weights


@dataclass(frozen=True)
class FullyConnectedOptions:
    fused_activation_function: str = "NONE"
    weights_format: str = "DEFAULT"
    keep_num_dims: bool = False
    asymmetric_quantize_inputs: bool = False
    quantized_bias_type: str = "FLOAT32"


@dataclass(frozen=True)
class FullyConnectedParams:
    batches: int
    accum_depth: int
    output_depth: int
    input_offset: int
    filter_offset: int
    output_offset: int
    act_min: int
    act_max: int
    has_bias: bool


@dataclass(frozen=True)
class FullyConnectedF32Params:
    batches: int
    accum_depth: int
    output_depth: int
    act_min: float
    act_max: float
    has_bias: bool
    sources: tuple[int, ...]  # weights, bias: an input slot (computed at run time) or -1 (flash operand<i>)


@dataclass(frozen=True)
class FullyConnectedS16Params(FullyConnectedParams):
    acc64: bool  # TFLM's accumulator: int64, or int32 with an int32 bias (s16.wide_accumulator)


def _shapes(graph: Graph, op: Operator, x: Tensor, w: Tensor, y: Tensor) -> tuple[int, int]:
    if len(w.shape) != 2:
        raise unsupported(graph, op, f"weights must be 2-D, got {list(w.shape)}",
                          "(output depth, input depth), as TFLite writes them")
    output_depth, accum_depth = w.shape
    if not y.shape or y.shape[-1] != output_depth or x.numel % accum_depth:
        raise unsupported(graph, op, f"input {list(x.shape)} / weights {list(w.shape)} / output {list(y.shape)} "
                                     "do not agree", "weights are (output depth, input depth); the output's last "
                                     "dimension is the output depth")
    # TFLM takes the batch count from the input and writes batches x depth outputs: an output of
    # another size would be overrun or left partly unwritten.
    if x.numel // accum_depth != y.numel // output_depth:
        # ai-edge-torch with dynamic_shapes: the input stores batch 1 (signature -1), the layers the example's
        dynamic = x.shape_signature is not None and -1 in x.shape_signature
        raise unsupported(graph, op, f"input {list(x.shape)} holds {x.numel // accum_depth} rows of {accum_depth}, "
                                     f"output {list(y.shape)} {y.numel // output_depth} of {output_depth}" + (
                              f"; the input's batch is left to run time (signature {list(x.shape_signature)})"
                              if dynamic else ""),
                          "re-export with a fixed batch size (PyTorch: without dynamic_shapes; Keras: "
                          "keras.Input(shape, batch_size=1))" if dynamic else
                          "the input and output batch must agree; re-export the model")
    if w.quant is not None and w.quant.per_channel:
        _require_channel_scales(graph, op, w, output_depth)
    return output_depth, accum_depth


def _require_channel_scales(graph: Graph, op: Operator, w: Tensor, output_depth: int) -> None:
    """CalculateOpDataFullyConnected: as many scales as the dimension the file's quantized_dimension names
    (it refuses other counts), one multiplier per scale; the kernel then reads output unit i's at i, so the
    first output_depth scales are used whichever axis is named, and fewer leave it reading past its array."""
    axis = w.quant.axis
    named = w.shape[axis] if 0 <= axis < len(w.shape) else None
    if len(w.quant.scale) != named:
        raise unsupported(graph, op, f"weights have {len(w.quant.scale)} scales along axis {axis} of "
                                     f"{list(w.shape)}; TFLM requires one per entry of that dimension",
                          "TFLM refuses it too; quantize the weights per output unit (axis 0)")
    if len(w.quant.scale) < output_depth:
        raise unsupported(graph, op, f"weights have {len(w.quant.scale)} scales (axis {axis}) for {output_depth} "
                                     "output units: TFLM reads the missing units' multipliers past its array, "
                                     "memory left as it was", "quantize the weights per output unit (axis 0)")


# GetQuantizedConvolutionMultipler: with per-tensor weights TFLM requires the bias scale to be the
# input scale times the weight scale, within 2% of the output scale.
MAX_BIAS_SCALE_DIFF = 0.02


def _require_bias_scale(graph: Graph, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> None:
    if b is None or w.quant.per_channel:
        return
    product = qmath.f32(x.quant.s) * qmath.f32(w.quant.s)
    bias_scale = qmath.f32(b.quant.s) if b.quant is not None else 0.0
    if abs(product - bias_scale) / qmath.f32(y.quant.s) > MAX_BIAS_SCALE_DIFF:
        raise unsupported(graph, op, f"bias scale {bias_scale:.6g} is not input scale x weight scale "
                                     f"({product:.6g})", "TFLM refuses such a FULLY_CONNECTED; re-quantize the model")


def lower_s16(graph: Graph, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> Lowered:
    """16x8: FullyConnected{,PerChannel}<int16_t, int8_t, int16_t, int64_t or int32_t>."""
    opts: FullyConnectedOptions = op.options
    require_const(graph, op, w, "weights")
    if w.dtype != "int8":
        raise unsupported(graph, op, f"weights are {w.dtype}; int16 activations need int8 weights (16x8)",
                          "TFLM has no 16x4 kernels; quantize the weights to int8")
    require_int8(graph, op, w, what="weights")
    output_depth, accum_depth = _shapes(graph, op, x, w, y)
    _require_bias_scale(graph, op, x, w, b, y)
    wide = s16.wide_accumulator(b, opts.quantized_bias_type)
    mults, shifts = qmath.per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, output_depth)
    s16.require_accumulator_shifts(graph, op, shifts, wide)
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    bias = bias_array_s16(graph, op, b, output_depth)
    params = FullyConnectedS16Params(
        batches=y.numel // output_depth, accum_depth=accum_depth, output_depth=output_depth,
        input_offset=-x.quant.zp, filter_offset=0 if w.quant.per_channel else -w.quant.zp,
        output_offset=y.quant.zp, act_min=act_min, act_max=act_max, has_bias=bias is not None, acc64=wide)
    consts = (int4.weights_const(w), *requant_arrays(mults, shifts), *((bias,) if bias is not None else ()))
    return Lowered(op=op, kernel="fully_connected_s16", params=params, inputs=(x.index,), outputs=(y.index,),
                   consts=consts)


def lower_f32(graph: Graph, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> Lowered:
    """float32: reference_ops::FullyConnected with float weights and bias, each a constant or computed
    (TFLM has no hybrid FC)."""
    f32.require_float32(graph, op, x, y)
    for t, role in ((w, "weights"), (b, "bias")):  # constants (flash) or computed at run time (arena)
        if t is not None and t.dtype != f32.FLOAT32:
            f32.require_const_float(graph, op, t, role)  # the hybrid-model refusal
    output_depth, accum_depth = _shapes(graph, op, x, w, y)
    if b is not None and b.numel != output_depth:
        raise unsupported(graph, op, f"bias has {b.numel} values for {output_depth} outputs",
                          "the model's shapes are inconsistent; re-export it")
    act_min, act_max = f32.activation_range(op.options.fused_activation_function)
    sources, inputs, consts = [], [x.index], []
    for i, t in enumerate((w, b)):
        if t is None or t.is_const:
            sources.append(-1)
            if t is not None:
                consts.append(f32.float_array(t, f"operand{i}"))
        else:
            sources.append(len(inputs))
            inputs.append(t.index)
    params = FullyConnectedF32Params(batches=y.numel // output_depth, accum_depth=accum_depth,
                                     output_depth=output_depth, act_min=act_min, act_max=act_max,
                                     has_bias=b is not None, sources=tuple(sources))
    return Lowered(op=op, kernel="fully_connected_f32", params=params, inputs=tuple(inputs), outputs=(y.index,),
                   consts=tuple(consts))


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, w, *rest), (y,) = io(graph, op, 2)
    b = rest[0] if rest else None
    opts: FullyConnectedOptions = op.options
    if f32.is_float(x):
        return lower_f32(graph, op, x, w, b, y)
    if opts.weights_format != "DEFAULT":
        raise unsupported(graph, op, f"weights format {opts.weights_format} is not supported",
                          "TFLM's integer kernels read DEFAULT weights only")
    if require_int8_or_int16(graph, op, x, y) == "int16":
        return lower_s16(graph, op, x, w, b, y)
    require_const(graph, op, w, "weights")
    if w.dtype == "int4":
        int4.require_per_tensor(graph, op, w)
    else:
        require_int8(graph, op, w, what="weights")
    output_depth, accum_depth = _shapes(graph, op, x, w, y)
    _require_bias_scale(graph, op, x, w, b, y)
    mults, shifts = qmath.per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, output_depth)
    require_shifts(graph, op, shifts)
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    filter_offset = 0 if w.quant.per_channel else -w.quant.zp
    bias = bias_array(graph, op, b, output_depth)
    params = FullyConnectedParams(
        batches=y.numel // output_depth, accum_depth=accum_depth, output_depth=output_depth,
        input_offset=-x.quant.zp, filter_offset=filter_offset, output_offset=y.quant.zp,
        act_min=act_min, act_max=act_max, has_bias=bias is not None)
    consts = (int4.weights_const(w),  # int4 stays packed two per byte
              *requant_arrays(mults, shifts), *((bias,) if bias is not None else ()),
              *acc_init_arrays(w, bias, params.input_offset, axis=0, filter_offset=filter_offset),
              *blocked_weights(w))
    return Lowered(op=op, kernel=int4.kernel_for("fully_connected", w), params=params, inputs=(x.index,),
                   outputs=(y.index,), consts=consts)


SPECS = [OpSpec(name="fully_connected", builtin="FULLY_CONNECTED", options=FullyConnectedOptions,
                fb_options="FullyConnectedOptions", lower=lower,
                kernels=(reference_kernel("fully_connected", uses=("filter_blocked", "acc_init", "multiplier", "shift")),
                         # per tensor: its multiplier and shift are inlined in the call
                         reference_kernel("fully_connected_s4", uses=("filter", "bias")),
                         reference_kernel("fully_connected_s16", uses=("filter", "multiplier", "shift", "bias")),
                         reference_kernel("fully_connected_f32")),
                quant=QuantRule(4, weights=1, channel_axis=0, bias=2, int4_version=10, int4_per_channel=False,
                                activation_inputs=(0,)),
                doc="int8 activations, int8 weights per-tensor or per-channel (axis 0) or int4 weights per-tensor, "
                    "int32 bias; 16x8: int16 activations, int8 weights, int64 or int32 bias; float32 (float weights and bias)")]
