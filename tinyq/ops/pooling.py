"""AVERAGE_POOL_2D and MAX_POOL_2D on int8 and int16: one options type, one parameter block, a kernel
per op and activation type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.inplace import CHANNEL_WINDOW
from tinyq.ops.common import ACTIVATION_SUFFIX, fused_range, io, require_int8_or_int16
from tinyq.ops.geometry import Window2D, window_2d, window_fields


# A window sum (|x| <= 128 a value for int8, 32768 for int16, plus half the count to round) stays
# inside int32 up to here.
MAX_AVERAGE_TAPS = {"int8": (2**31 - 1) // 129, "int16": (2**31 - 1) // 32769}


@dataclass(frozen=True)
class Pool2DOptions:
    padding: str = "SAME"
    stride_w: int = 1
    stride_h: int = 1
    filter_width: int = 1
    filter_height: int = 1
    fused_activation_function: str = "NONE"


@dataclass(frozen=True)
class PoolParams(Window2D):
    act_min: int
    act_max: int

    @property
    def depth(self) -> int:
        return self.in_d


@dataclass(frozen=True)
class PoolF32Params(Window2D):
    act_min: float
    act_max: float

    @property
    def depth(self) -> int:
        return self.in_d


def lower_f32(graph: Graph, op: Operator, x: Tensor, y: Tensor) -> Lowered:
    """float32 AVERAGE_POOL_2D, MAX_POOL_2D and L2_POOL_2D: TFLM's float reference loops."""
    opts: Pool2DOptions = op.options
    f32.require_float32(graph, op, x, y)
    win = window_2d(graph, op, x, y, filter_hw=(opts.filter_height, opts.filter_width),
                    stride_hw=(opts.stride_h, opts.stride_w), padding=opts.padding)
    if win.in_d != win.out_d:
        raise unsupported(graph, op, f"input depth {win.in_d} and output depth {win.out_d} differ",
                          "pooling keeps the depth; re-export the model")
    act_min, act_max = f32.activation_range(opts.fused_activation_function)
    params = PoolF32Params(**window_fields(win), act_min=act_min, act_max=act_max)
    return Lowered(op=op, kernel=op.op + f32.SUFFIX, params=params, inputs=(x.index,), outputs=(y.index,))


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, *_), (y,) = io(graph, op, 1)
    opts: Pool2DOptions = op.options
    if f32.is_float(x):
        return lower_f32(graph, op, x, y)
    dtype = require_int8_or_int16(graph, op, x, y)
    # PoolingPrepare's check, in float32 as TFLM holds the scales.
    if float(abs(np.float32(x.quant.s) - np.float32(y.quant.s))) > 1e-6 or x.quant.zp != y.quant.zp:
        raise unsupported(graph, op, f"input (scale {x.quant.s:g}, zero point {x.quant.zp}) and output "
                                     f"(scale {y.quant.s:g}, zero point {y.quant.zp}) quantization differ",
                          "TFLM pools without requantizing; the converter always makes them equal")
    win = window_2d(graph, op, x, y, filter_hw=(opts.filter_height, opts.filter_width),
                    stride_hw=(opts.stride_h, opts.stride_w), padding=opts.padding)
    if win.in_d != win.out_d:
        raise unsupported(graph, op, f"input depth {win.in_d} and output depth {win.out_d} differ",
                          "pooling keeps the depth; re-export the model")
    taps = min(win.filter_h, win.in_h) * min(win.filter_w, win.in_w)
    if op.op == "average_pool_2d" and taps > MAX_AVERAGE_TAPS[dtype]:
        raise unsupported(graph, op, f"the window averages {taps:,} values; their int32 sum could overflow",
                          f"TFLM sums {dtype} in int32: at most {MAX_AVERAGE_TAPS[dtype]:,} values a window")
    act_min, act_max = fused_range(graph, op, opts.fused_activation_function, y)
    params = PoolParams(**window_fields(win), act_min=act_min, act_max=act_max)
    return Lowered(op=op, kernel=op.op + ACTIVATION_SUFFIX[dtype], params=params, inputs=(x.index,), outputs=(y.index,))


_DOC = ("int8 and int16, input and output quantized alike; float32; any window, stride, SAME/VALID padding, "
        "fused activation, batches")

SPECS = [
    OpSpec(name="average_pool_2d", builtin="AVERAGE_POOL_2D", options=Pool2DOptions, fb_options="Pool2DOptions",
           lower=lower, kernels=(reference_kernel("average_pool_2d", inplace=CHANNEL_WINDOW),
                                 reference_kernel("average_pool_2d_s16", inplace=CHANNEL_WINDOW),
                                 reference_kernel("average_pool_2d_f32", inplace=CHANNEL_WINDOW)),
           quant=QuantRule(2, output_as_input=True), doc=_DOC),
    OpSpec(name="max_pool_2d", builtin="MAX_POOL_2D", options=Pool2DOptions, fb_options="Pool2DOptions",
           lower=lower, kernels=(reference_kernel("max_pool_2d", inplace=CHANNEL_WINDOW),
                                 reference_kernel("max_pool_2d_s16", inplace=CHANNEL_WINDOW),
                                 reference_kernel("max_pool_2d_f32", inplace=CHANNEL_WINDOW)),
           quant=QuantRule(2, output_as_input=True), doc=_DOC),
]
