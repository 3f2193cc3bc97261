"""TRANSPOSE_CONV on int8: per-tensor or per-channel int8 weights, SAME/VALID, any strides,
optional int32 bias, fused activation; and 16x8 (int16 activations, int64 or int16 bias).

Inputs are (output_shape, filter [O, H, W, I], input, bias); TFLM ignores the
output_shape tensor and takes every extent from the tensors themselves
(kernels/transpose_conv.cc). Its padding is a forward convolution's over the
*output* (ComputePaddingHeightWidth with the output as the image), and its int8
kernel (reference_integer_ops::TransposeConv) scatters (input + input_offset) *
filter into an int32 buffer the size of the output, adds the bias and requantizes
per channel. It ignores the filter's zero point. tinyq's kernel gathers instead:
each output sums the same products (int32 sums wrap the same in any order), so it
needs no int32 buffer. Its 16x8 kernel sums in int64 (an int16 bias widened to int64), applies no
zero points and requantizes with the 64-bit MultiplyByQuantizedMultiplier (tinyq/ops/s16.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops.base import ConstArray, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops import f32, s16
from tinyq.ops.common import (bias_array, bias_array_s16, fused_range, io, require_int8_or_int16, require_shifts,
                              requant_arrays)
from tinyq.ops.conv_2d import require_weights
from tinyq.ops.geometry import PADDINGS, require_4d


@dataclass(frozen=True)
class TransposeConvOptions:
    padding: str = "SAME"
    stride_w: int = 1
    stride_h: int = 1
    fused_activation_function: str = "NONE"
    quantized_bias_type: str = "FLOAT32"


@dataclass(frozen=True)
class TransposeConvParams:
    batches: int
    in_h: int
    in_w: int
    in_d: int
    out_h: int
    out_w: int
    out_d: int
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    pad_h: int  # output row of input row 0's first tap is -pad_h
    pad_w: int
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int
    has_bias: bool


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _forward_out_size(padding: str, image: int, filter_size: int, stride: int) -> int:
    """ComputeOutSizeChecked's value (negative: TFLM's check fails)."""
    if padding == "SAME":
        return _c_div(image + stride - 1, stride)
    return _c_div(image + stride - filter_size, stride)


def transpose_padding(padding: str, out_hw: tuple[int, int], filter_hw: tuple[int, int],
                      stride_hw: tuple[int, int]) -> tuple[int, int]:
    """TFLM's (pad_h, pad_w): ComputePaddingHeightWidth over the output image. When either
    forward size is negative its check fails and both paddings stay 0."""
    sizes = [_forward_out_size(padding, o, f, s) for o, f, s in zip(out_hw, filter_hw, stride_hw)]
    if min(sizes) < 0:
        return 0, 0
    pads = [max((n - 1) * s + f - o, 0) // 2 for n, o, f, s in zip(sizes, out_hw, filter_hw, stride_hw)]
    return pads[0], pads[1]


@dataclass(frozen=True)
class TransposeConvF32Params:
    batches: int
    in_h: int
    in_w: int
    in_d: int
    out_h: int
    out_w: int
    out_d: int
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    pad_h: int
    pad_w: int
    act_min: float
    act_max: float
    has_bias: bool


def _geometry(graph: Graph, op: Operator, w, x, y) -> tuple[int, int, int, int, int, int]:
    """(out_d, filter_h, filter_w, filter_d, pad_h, pad_w) after TFLM's shape checks."""
    opts: TransposeConvOptions = op.options
    require_4d(graph, op, x, y)
    if opts.padding not in PADDINGS:
        raise unsupported(graph, op, f"padding {opts.padding} is not supported", "use SAME or VALID")
    if min(opts.stride_h, opts.stride_w) <= 0:
        raise unsupported(graph, op, f"stride {opts.stride_h}x{opts.stride_w} must be positive")
    out_d, fh, fw, filter_d = w.shape
    if x.shape[0] != y.shape[0] or x.shape[3] != filter_d or y.shape[3] != out_d:
        raise unsupported(graph, op, f"input {list(x.shape)}, filter {list(w.shape)} and output {list(y.shape)} "
                                     "disagree on batch or depth", "the model's shapes are inconsistent; re-export it")
    pad_h, pad_w = transpose_padding(opts.padding, (y.shape[1], y.shape[2]), (fh, fw), (opts.stride_h, opts.stride_w))
    return out_d, fh, fw, filter_d, pad_h, pad_w


def lower_f32(graph: Graph, op: Operator, w, x, b, y) -> Lowered:
    """float32: reference_ops::TransposeConv (scatter), gathered in the same order of products."""
    opts: TransposeConvOptions = op.options
    f32.require_float32(graph, op, x, y)
    f32.require_const_float(graph, op, w, "filter")
    require_4d(graph, op, w, role="filter")
    out_d, fh, fw, filter_d, pad_h, pad_w = _geometry(graph, op, w, x, y)
    bias = f32.bias_array(graph, op, b, out_d)
    act_min, act_max = f32.activation_range(opts.fused_activation_function)
    params = TransposeConvF32Params(
        batches=x.shape[0], in_h=x.shape[1], in_w=x.shape[2], in_d=filter_d, out_h=y.shape[1], out_w=y.shape[2],
        out_d=out_d, filter_h=fh, filter_w=fw, stride_h=opts.stride_h, stride_w=opts.stride_w, pad_h=pad_h,
        pad_w=pad_w, act_min=act_min, act_max=act_max, has_bias=bool(bias))
    return Lowered(op=op, kernel="transpose_conv_f32", params=params, inputs=(x.index,), outputs=(y.index,),
                   consts=(f32.float_array(w, "filter"), *bias))


def lower(graph: Graph, op: Operator) -> Lowered:
    (_, w, x, *rest), (y,) = io(graph, op, 3)
    if len(rest) > 1:
        raise unsupported(graph, op, f"expects 3 or 4 inputs, has {3 + len(rest)}", "the file is corrupt")
    b = rest[0] if rest else None
    opts: TransposeConvOptions = op.options
    if f32.is_float(x):
        return lower_f32(graph, op, w, x, b, y)
    int16 = require_int8_or_int16(graph, op, x, y) == "int16"
    require_weights(graph, op, w, axis=0)
    if w.dtype != "int8":
        raise unsupported(graph, op, f"filter is {w.dtype}; TFLM's TRANSPOSE_CONV takes int8 filters only")
    require_4d(graph, op, x, y)
    if opts.padding not in PADDINGS:
        raise unsupported(graph, op, f"padding {opts.padding} is not supported", "use SAME or VALID")
    if min(opts.stride_h, opts.stride_w) <= 0:
        raise unsupported(graph, op, f"stride {opts.stride_h}x{opts.stride_w} must be positive")
    out_d, fh, fw, filter_d = w.shape
    if x.shape[0] != y.shape[0] or x.shape[3] != filter_d or y.shape[3] != out_d:
        raise unsupported(graph, op, f"input {list(x.shape)}, filter {list(w.shape)} and output {list(y.shape)} "
                                     "disagree on batch or depth", "the model's shapes are inconsistent; re-export it")
    pad_h, pad_w = transpose_padding(opts.padding, (y.shape[1], y.shape[2]), (fh, fw), (opts.stride_h, opts.stride_w))
    mults, shifts = qmath.per_channel_multipliers(x.quant.s, w.quant.scale, y.quant.s, out_d)
    if int16:
        s16.require_accumulator_shifts(graph, op, shifts, wide=True)
    else:
        require_shifts(graph, op, shifts)
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    bias = _bias_s16(graph, op, b, out_d) if int16 else bias_array(graph, op, b, out_d)
    params = TransposeConvParams(
        batches=x.shape[0], in_h=x.shape[1], in_w=x.shape[2], in_d=filter_d, out_h=y.shape[1], out_w=y.shape[2],
        out_d=out_d, filter_h=fh, filter_w=fw, stride_h=opts.stride_h, stride_w=opts.stride_w, pad_h=pad_h,
        pad_w=pad_w, input_offset=0 if int16 else -x.quant.zp, output_offset=0 if int16 else y.quant.zp,
        act_min=act_min, act_max=act_max,
        has_bias=bias is not None)
    consts = (ConstArray("filter", "int8_t", np.asarray(w.data, dtype=np.int8).reshape(-1)),
              *requant_arrays(mults, shifts), *((bias,) if bias is not None else ()))
    return Lowered(op=op, kernel="transpose_conv_s16" if int16 else "transpose_conv", params=params,
                   inputs=(x.index,), outputs=(y.index,), consts=consts)


def _bias_s16(graph: Graph, op: Operator, b, out_d: int) -> ConstArray | None:
    """TFLM's 16x8 kernel reads an int64 bias, or widens an int16 one (an int32 one it would misread)."""
    bias = bias_array_s16(graph, op, b, out_d, dtypes=("int64", "int16"))
    if bias is None or bias.ctype == "int64_t":
        return bias
    return ConstArray("bias", "int64_t", np.asarray(bias.values, dtype=np.int64))


SPECS = [OpSpec(name="transpose_conv", builtin="TRANSPOSE_CONV", options=TransposeConvOptions,
                fb_options="TransposeConvOptions", lower=lower,
                kernels=(reference_kernel("transpose_conv", uses=("filter", "multiplier", "shift", "bias")),
                         reference_kernel("transpose_conv_s16", uses=("filter", "multiplier", "shift", "bias")),
                         reference_kernel("transpose_conv_f32")),
                # inputs: output shape, filter [out, kh, kw, in], data, bias; version 3: with a bias
                quant=QuantRule(3, weights=1, channel_axis=0, bias=3, activation_inputs=(2,)),
                doc="int8 activations and weights (per-tensor or per-channel), optional int32 bias, SAME/VALID, "
                    "any strides and output size, fused activation; 16x8: int16 activations, int64 or int16 bias; float32 "
                    "(float weights and bias)")]
