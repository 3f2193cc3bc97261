"""DEPTHWISE_CONV_2D: int8 activations, int8 (or int4) weights per-tensor or per-channel, any depth multiplier;
16x8 (int16 activations, int8 weights, int64 bias)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32, int4, s16
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.inplace import CHANNEL_WINDOW
from tinyq.ops.common import (bias_array, bias_array_s16, fused_range, io, require_int8_or_int16, require_shifts,
                              requant_arrays)
from tinyq.ops.conv_2d import acc_init_arrays, require_weights
from tinyq.ops.geometry import ConvWindow, Window2D, require_4d, window_2d, window_fields


@dataclass(frozen=True)
class DepthwiseConv2DOptions:
    padding: str = "SAME"
    stride_w: int = 1
    stride_h: int = 1
    depth_multiplier: int = 1
    fused_activation_function: str = "NONE"
    dilation_w_factor: int = 1
    dilation_h_factor: int = 1


@dataclass(frozen=True)
class DepthwiseConv2DParams(Window2D):
    depth_multiplier: int
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int
    has_bias: bool

    def as_conv(self) -> ConvWindow:
        """The grouped convolution it is (one input channel per group): how CMSIS-NN sees it."""
        return ConvWindow(**window_fields(self), filter_d=self.out_d)


@dataclass(frozen=True)
class DepthwiseConv2DS16Params(Window2D):
    """16x8: TFLM's int16 kernel has no zero-point offsets and always an int64 accumulator."""

    depth_multiplier: int
    act_min: int
    act_max: int
    has_bias: bool

    def as_conv(self) -> ConvWindow:
        return ConvWindow(**window_fields(self), filter_d=self.out_d)


def _window(graph: Graph, op: Operator, x: Tensor, w: Tensor, y: Tensor):
    opts: DepthwiseConv2DOptions = op.options
    win = window_2d(graph, op, x, y, filter_hw=(w.shape[1], w.shape[2]), stride_hw=(opts.stride_h, opts.stride_w),
                    dilation_hw=(opts.dilation_h_factor, opts.dilation_w_factor), padding=opts.padding)
    out_d = w.shape[3]
    if w.shape[0] != 1 or out_d != win.out_d:
        raise unsupported(graph, op, f"filter {list(w.shape)} must be 1xHxWx{win.out_d} for output {list(y.shape)}",
                          "the model's shapes are inconsistent; re-export it")
    # TFLM's loops trust the option, so an option that disagrees with the shapes would
    # leave outputs unwritten or write past them: refuse it.
    if out_d != win.in_d * opts.depth_multiplier:
        raise unsupported(graph, op, f"depth multiplier {opts.depth_multiplier} does not turn {win.in_d} input "
                                     f"channels into {out_d}", "the model's options are inconsistent; re-export it")
    return win, out_d


def lower_s16(graph: Graph, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> Lowered:
    """16x8: TFLM's DepthwiseConvPerChannel<int16> reads the bias as int64 whatever its type."""
    opts: DepthwiseConv2DOptions = op.options
    require_weights(graph, op, w, axis=3)
    s16.require_int8_weights(graph, op, w)
    win, out_d = _window(graph, op, x, w, y)
    mults, shifts = qmath.per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, out_d)
    s16.require_accumulator_shifts(graph, op, shifts, wide=True)
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    bias = bias_array_s16(graph, op, b, out_d, dtypes=("int64",))
    params = DepthwiseConv2DS16Params(**window_fields(win), depth_multiplier=opts.depth_multiplier,
                                      act_min=act_min, act_max=act_max, has_bias=bias is not None)
    consts = (int4.weights_const(w), *requant_arrays(mults, shifts), *((bias,) if bias is not None else ()))
    return Lowered(op=op, kernel="depthwise_conv_2d_s16", params=params, inputs=(x.index,), outputs=(y.index,),
                   consts=consts)


@dataclass(frozen=True)
class DepthwiseConv2DF32Params(Window2D):
    depth_multiplier: int
    act_min: float
    act_max: float
    has_bias: bool


def lower_f32(graph: Graph, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> Lowered:
    """float32: reference_ops::DepthwiseConv with float weights and bias."""
    f32.require_float32(graph, op, x, y)
    f32.require_const_float(graph, op, w, "filter")
    require_4d(graph, op, w, role="filter")
    win, out_d = _window(graph, op, x, w, y)
    bias = f32.bias_array(graph, op, b, out_d)
    act_min, act_max = f32.activation_range(op.options.fused_activation_function)
    params = DepthwiseConv2DF32Params(**window_fields(win), depth_multiplier=op.options.depth_multiplier,
                                      act_min=act_min, act_max=act_max, has_bias=bool(bias))
    return Lowered(op=op, kernel="depthwise_conv_2d_f32", params=params, inputs=(x.index,), outputs=(y.index,),
                   consts=(f32.float_array(w, "filter"), *bias))


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, w, *rest), (y,) = io(graph, op, 2)
    b = rest[0] if rest else None
    opts: DepthwiseConv2DOptions = op.options
    if f32.is_float(x):
        return lower_f32(graph, op, x, w, b, y)
    if require_int8_or_int16(graph, op, x, y) == "int16":
        return lower_s16(graph, op, x, w, b, y)
    require_weights(graph, op, w, axis=3)
    win, out_d = _window(graph, op, x, w, y)
    mults, shifts = qmath.per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, out_d)
    require_shifts(graph, op, shifts)
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    bias = bias_array(graph, op, b, out_d)
    params = DepthwiseConv2DParams(**window_fields(win), depth_multiplier=opts.depth_multiplier,
                                   input_offset=-x.quant.zp, output_offset=y.quant.zp, act_min=act_min,
                                   act_max=act_max, has_bias=bias is not None)
    consts = (int4.weights_const(w), *requant_arrays(mults, shifts), *((bias,) if bias is not None else ()),
              *acc_init_arrays(w, bias, params.input_offset, axis=3))
    return Lowered(op=op, kernel=int4.kernel_for("depthwise_conv_2d", w), params=params, inputs=(x.index,),
                   outputs=(y.index,), consts=consts)


SPECS = [OpSpec(name="depthwise_conv_2d", builtin="DEPTHWISE_CONV_2D", options=DepthwiseConv2DOptions,
                fb_options="DepthwiseConv2DOptions", lower=lower,
                kernels=(reference_kernel("depthwise_conv_2d", uses=("filter", "acc_init", "multiplier", "shift", "bias"),
                                          inplace=CHANNEL_WINDOW),
                         reference_kernel("depthwise_conv_2d_s4", uses=("filter", "multiplier", "shift", "bias"),
                                          inplace=CHANNEL_WINDOW),
                         reference_kernel("depthwise_conv_2d_s16", uses=("filter", "multiplier", "shift", "bias"),
                                          inplace=CHANNEL_WINDOW),
                         reference_kernel("depthwise_conv_2d_f32", inplace=CHANNEL_WINDOW)),
                quant=QuantRule(3, weights=1, channel_axis=3, bias=2, int4_version=7, activation_inputs=(0,)),
                doc="int8 activations; int8/int4 weights per-tensor or per-channel (axis 3); int32 bias; "
                    "any depth multiplier, stride, dilation, SAME/VALID padding, batches; 16x8: int16 activations, "
                    "int8 weights, int64 bias; float32 (float weights and bias)")]
