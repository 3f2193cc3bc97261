"""CONV_2D: int8 activations, int8 (or int4) weights per-tensor or per-channel, grouped or not."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32, int4
from tinyq.ops.base import ConstArray, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.inplace import WINDOW
from tinyq.ops import s16
from tinyq.ops.common import (bias_array, bias_array_s16, fused_range, io, require_const, require_int8_or_int16,
                              require_shifts, requant_arrays)
from tinyq.ops.geometry import ConvWindow, require_4d, window_2d, window_fields

WEIGHT_DTYPES = ("int8", "int4")  # the IR holds int4 unpacked; lowering packs it again (tinyq/ops/int4.py)


@dataclass(frozen=True)
class Conv2DOptions:
    padding: str = "SAME"
    stride_w: int = 1
    stride_h: int = 1
    fused_activation_function: str = "NONE"
    dilation_w_factor: int = 1
    dilation_h_factor: int = 1
    quantized_bias_type: str = "FLOAT32"


@dataclass(frozen=True)
class Conv2DParams(ConvWindow):
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int
    has_bias: bool


@dataclass(frozen=True)
class Conv2DS16Params(ConvWindow):
    """16x8: TFLM's int16 kernel has no zero-point offsets."""

    act_min: int
    act_max: int
    has_bias: bool
    acc64: bool  # TFLM's accumulator: int64, or int32 with an int32 bias (s16.wide_accumulator)


def require_weights(graph: Graph, op: Operator, w: Tensor | None, axis: int) -> Tensor:
    """Constant int8/int4 weights, 4-D, quantized per tensor or along `axis` (TFLM's quantized dimension)."""
    require_const(graph, op, w, "filter")
    if w.dtype not in WEIGHT_DTYPES:
        raise unsupported(graph, op, f"filter is {w.dtype}; int8 activations need int8 or int4 weights",
                          "quantize the weights to int8 (hybrid models are not supported)")
    if w.quant is None:
        raise unsupported(graph, op, "filter has no quantization parameters", "quantize the model to int8 first")
    require_4d(graph, op, w, role="filter")
    channels = w.shape[axis]
    # PopulateConvolutionQuantizationParams: as many scales as output channels, and the dimension the file's
    # quantized_dimension names that long too; scale i is then output channel i's, whichever axis it names
    named = w.shape[w.quant.axis] if 0 <= w.quant.axis < len(w.shape) else None
    if w.quant.per_channel and (len(w.quant.scale) != channels or named != channels):
        raise unsupported(graph, op, f"per-channel filter must have {channels} scales along a dimension of "
                                     f"{channels} (axis {axis}), has {len(w.quant.scale)} along axis {w.quant.axis}",
                          "TFLM refuses it too; re-export the model")
    return w


BLOCK = 8  # output channels a pass of the reference conv and fully connected kernels (TQ_BLOCK, tq_dot.h)


def blocked_weights(w: Tensor, groups: int = 1) -> tuple[ConstArray, ...]:
    """The int8 filter as the reference kernels read it (tq_dot.h): each group's output channels BLOCK
    at a time, a block's weights interleaved tap by tap, the group's last channels that do not fill a
    block interleaved the same way. The filter's bytes, reordered; int4 kernels read the packed filter."""
    if w.dtype != "int8":
        return ()
    rows = np.asarray(w.data, dtype=np.int8).reshape(w.shape[0], -1)
    per_group = rows.shape[0] // groups
    parts = [rows[start:min(start + BLOCK, (g + 1) * per_group)].T.reshape(-1)
             for g in range(groups) for start in range(g * per_group, (g + 1) * per_group, BLOCK)]
    return (ConstArray("filter_blocked", "int8_t", np.concatenate(parts)),)


def acc_init_arrays(w: Tensor, bias: ConstArray | None, input_offset: int, axis: int,
                    filter_offset: int = 0) -> tuple[ConstArray, ...]:
    """The int8 kernels' accumulator start per output channel (qmath.accumulator_start): they sum
    w * x from it. The int4 kernels keep TFLM's form, so they get nothing."""
    if w.dtype != "int8":
        return ()
    data = np.asarray(w.data)
    rows = np.moveaxis(data, axis, 0).reshape(data.shape[axis], -1)
    start = qmath.accumulator_start(rows, input_offset, bias.values if bias is not None else None, filter_offset)
    return (ConstArray("acc_init", "int32_t", start),)


def _window(graph: Graph, op: Operator, x: Tensor, w: Tensor, y: Tensor):
    opts: Conv2DOptions = op.options
    win = window_2d(graph, op, x, y, filter_hw=(w.shape[1], w.shape[2]), stride_hw=(opts.stride_h, opts.stride_w),
                    dilation_hw=(opts.dilation_h_factor, opts.dilation_w_factor), padding=opts.padding)
    out_d, filter_d = w.shape[0], w.shape[3]
    if out_d != win.out_d:
        raise unsupported(graph, op, f"filter has {out_d} output channels, output has {win.out_d}",
                          "the model's shapes are inconsistent; re-export it")
    if filter_d == 0 or win.in_d % filter_d or out_d % (win.in_d // filter_d):
        raise unsupported(graph, op, f"input depth {win.in_d} / filter depth {filter_d} / output depth {out_d} "
                                     "do not form whole groups", "the input depth must be a multiple of the "
                                     "filter's, the output depth a multiple of the group count")
    return win, out_d, filter_d


def lower_s16(graph: Graph, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> Lowered:
    """16x8: int16 input and output, int8 weights, int64 or int32 bias (TFLM's ConvPerChannel<int16>)."""
    opts: Conv2DOptions = op.options
    require_weights(graph, op, w, axis=0)
    s16.require_int8_weights(graph, op, w)
    win, out_d, filter_d = _window(graph, op, x, w, y)
    wide = s16.wide_accumulator(b, opts.quantized_bias_type)
    mults, shifts = qmath.per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, out_d)
    s16.require_accumulator_shifts(graph, op, shifts, wide)
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    bias = bias_array_s16(graph, op, b, out_d)
    params = Conv2DS16Params(**window_fields(win), filter_d=filter_d, act_min=act_min, act_max=act_max,
                             has_bias=bias is not None, acc64=wide)
    consts = (int4.weights_const(w), *requant_arrays(mults, shifts), *((bias,) if bias is not None else ()))
    return Lowered(op=op, kernel="conv_2d_s16", params=params, inputs=(x.index,), outputs=(y.index,), consts=consts)


@dataclass(frozen=True)
class Conv2DF32Params(ConvWindow):
    act_min: float
    act_max: float
    has_bias: bool


def lower_f32(graph: Graph, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> Lowered:
    """float32: reference_ops::Conv with float weights and bias."""
    f32.require_float32(graph, op, x, y)
    f32.require_const_float(graph, op, w, "filter")
    require_4d(graph, op, w, role="filter")
    win, out_d, filter_d = _window(graph, op, x, w, y)
    bias = f32.bias_array(graph, op, b, out_d)
    act_min, act_max = f32.activation_range(op.options.fused_activation_function)
    params = Conv2DF32Params(**window_fields(win), filter_d=filter_d, act_min=act_min, act_max=act_max,
                             has_bias=bool(bias))
    return Lowered(op=op, kernel="conv_2d_f32", params=params, inputs=(x.index,), outputs=(y.index,),
                   consts=(f32.float_array(w, "filter"), *bias))


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, w, *rest), (y,) = io(graph, op, 2)
    b = rest[0] if rest else None
    opts: Conv2DOptions = op.options
    if f32.is_float(x):
        return lower_f32(graph, op, x, w, b, y)
    if require_int8_or_int16(graph, op, x, y) == "int16":
        return lower_s16(graph, op, x, w, b, y)
    require_weights(graph, op, w, axis=0)
    win, out_d, filter_d = _window(graph, op, x, w, y)
    mults, shifts = qmath.per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, out_d)
    require_shifts(graph, op, shifts)
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    bias = bias_array(graph, op, b, out_d)
    params = Conv2DParams(**window_fields(win), filter_d=filter_d, input_offset=-x.quant.zp,
                          output_offset=y.quant.zp, act_min=act_min, act_max=act_max, has_bias=bias is not None)
    consts = (int4.weights_const(w), *requant_arrays(mults, shifts), *((bias,) if bias is not None else ()),
              *acc_init_arrays(w, bias, params.input_offset, axis=0),
              *blocked_weights(w, groups=win.in_d // filter_d))
    return Lowered(op=op, kernel=int4.kernel_for("conv_2d", w), params=params, inputs=(x.index,),
                   outputs=(y.index,), consts=consts)


KERNELS = (
    # int8 weights: read blocked (tq_dot.h), the input offset folded into acc_init
    reference_kernel("conv_2d", uses=("filter_blocked", "acc_init", "multiplier", "shift", "bias"), inplace=WINDOW),
    # int4 weights: read packed from their nibbles with the int8 kernel's loops
    reference_kernel("conv_2d_s4", uses=("filter", "multiplier", "shift", "bias"), inplace=WINDOW),
    # int16 activations (16x8): TFLM's loops, an int64 (or int32) accumulator
    reference_kernel("conv_2d_s16", uses=("filter", "multiplier", "shift", "bias"), inplace=WINDOW),
    # float32: TFLM's loops and summation order
    reference_kernel("conv_2d_f32", inplace=WINDOW),
)

SPECS = [OpSpec(name="conv_2d", builtin="CONV_2D", options=Conv2DOptions, fb_options="Conv2DOptions", lower=lower,
                kernels=KERNELS,
                quant=QuantRule(3, weights=1, channel_axis=0, bias=2, int4_version=7, activation_inputs=(0,)),
                doc="int8 activations; int8/int4 weights per-tensor or per-channel (axis 0); int32 bias; "
                    "any stride, dilation, SAME/VALID padding, groups, batches; 16x8: int16 activations, int8 "
                    "weights, int64 or int32 bias; float32 (float weights and bias)")]
