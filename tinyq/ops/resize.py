"""RESIZE_NEAREST_NEIGHBOR (int8/int16/float32) and RESIZE_BILINEAR (int8), 4-D NHWC,
constant int32 size, align_corners and half_pixel_centers.

Every coordinate both ops compute depends only on the shapes and options, so it is
computed here, offline, exactly as TFLM computes it at each Eval:

* nearest: GetNearestNeighbor's float32 scale and floor/round (numpy float32, std::round
  halves away from zero) give each output row and column its source; the op is then a
  pure copy of depth-long runs (the remap kernel, tinyq/ops/remap.py).
* bilinear, int8: TFLM runs ResizeBilinearInteger (no float at all): scales in 1/1024
  units, per output row/column two source indices and a 10-bit weight. Those become
  two tables of (offset, offset, weight); the kernel does the int8 products and TFLM's
  rounding (double rounding: half away from zero, then a truncating division by 2^20).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tinyq import qmath
from tinyq.ir import DTYPES, Graph, Operator
from tinyq.ops import f32, remap
from tinyq.ops.base import ConstArray, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_const
from tinyq.ops.operands import operand_sources

NEAREST_DTYPES = ("int8", "int16", "float32")  # TFLM's nearest kernel copies these
ONE = 1 << 10  # ResizeBilinearInteger's fixed-point unit


@dataclass(frozen=True)
class ResizeNearestNeighborOptions:
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(frozen=True)
class ResizeBilinearOptions:
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(frozen=True)
class ResizeBilinearParams:
    batches: int
    out_h: int
    out_w: int
    depth: int
    in_batch_bytes: int
    sources: tuple[int, ...] = ()  # the input: arena slot, or -1 for the flash array operand0


def _operands(graph: Graph, op: Operator, dtypes: tuple[str, ...]):
    (x, size, *_), (y,) = io(graph, op, 2)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)}: TFLM takes 4-D tensors",
                          "reshape to 4-D NHWC around the op")
    if x.dtype != y.dtype or x.dtype not in dtypes:
        raise unsupported(graph, op, f"{x.dtype} -> {y.dtype}: TFLM's kernel takes {'/'.join(dtypes)}, the same "
                                     "on both sides",
                          "quantize the model to int8 (tinyq quantize) or convert the tensors")
    require_const(graph, op, size, "size")  # TFLM: "Non-constant >size< tensor is not supported"
    if size.dtype != "int32" or list(size.shape) != [2]:
        raise unsupported(graph, op, f"size is {size.dtype}{list(size.shape)}; TFLM takes 2 int32 values",
                          "as TFLite writes it")
    out_h, out_w = (int(v) for v in np.asarray(size.data).reshape(-1))
    n, in_h, in_w, depth = x.shape
    # TFLM loops over the size operand's rows and columns and writes into the output tensor
    if tuple(y.shape) != (n, out_h, out_w, depth):
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} resized to "
                                     f"{[out_h, out_w]}", "the size operand and the output shape disagree")
    return x, y, in_h, in_w, out_h, out_w


def nearest_sources(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """GetNearestNeighbor for every output coordinate, in TFLM's float32 arithmetic."""
    f = np.float32
    if align_corners and out_size > 1:
        scale = f(in_size - 1) / f(out_size - 1)
    else:
        scale = f(in_size) / f(out_size)
    offset = f(0.5) if half_pixel_centers else f(0.0)
    result = []
    for v in range(out_size):
        scaled = (f(v) + offset) * scale  # float32 throughout, as in C++ (no contraction: one product)
        value = qmath.tflite_round(float(scaled)) if align_corners else int(np.floor(scaled))
        value = min(value, in_size - 1)
        if half_pixel_centers:
            value = max(0, value)
        result.append(value)
    return np.asarray(result, dtype=np.int64)


def lower_nearest(graph: Graph, op: Operator) -> Lowered:
    x, y, in_h, in_w, out_h, out_w = _operands(graph, op, NEAREST_DTYPES)
    opts: ResizeNearestNeighborOptions = op.options
    n, depth, item = x.shape[0], x.shape[3], DTYPES[x.dtype][1]
    ys = nearest_sources(in_h, out_h, opts.align_corners, opts.half_pixel_centers)
    xs = nearest_sources(in_w, out_w, opts.align_corners, opts.half_pixel_centers)
    if ys.min() < 0 or xs.min() < 0:  # align_corners rounding never goes below 0; a guard for the tables
        raise unsupported(graph, op, "a source coordinate is negative: TFLM would read before the input",
                          "this is a tinyq bug; please report it with the model")
    rows = [(b * in_h + ys) * in_w * depth * item for b in range(n)]
    return remap.lowered(op, x, y, n, depth * item, rows, xs * depth * item)


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def bilinear_taps(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool):
    """ResizeBilinearInteger's (lower index, upper index, upper weight in 1/1024) per output coordinate:
    the weight is the position minus 1024 * lower (negative only where both taps are the same pixel)."""
    scale = _c_div(ONE * in_size + out_size // 2, out_size)
    if align_corners and out_size > 1:
        scale = _c_div(ONE * (in_size - 1) + (out_size - 1) // 2, out_size - 1)
    taps = []
    for v in range(out_size):
        pos = v * scale + scale // 2 - (1 << 9) if half_pixel_centers else v * scale
        lower = max(_c_div(pos, ONE), 0)
        upper = min(_c_div(pos + ONE - 1, ONE), in_size - 1)
        taps.append((lower, upper, pos - ONE * lower))
    return taps


@dataclass(frozen=True)
class ResizeBilinearF32Params:
    batches: int
    in_h: int
    in_w: int
    depth: int
    out_h: int
    out_w: int
    height_scale: float  # float32, TFLM's
    width_scale: float
    half_pixel_centers: bool


def _scale_f32(in_size: int, out_size: int, align_corners: bool) -> float:
    """ResizeBilinear's float32 scale: in / out, or (in - 1) / (out - 1) with align_corners."""
    f = np.float32
    if align_corners and out_size > 1:
        return float(f(in_size - 1) / f(out_size - 1))
    return float(f(in_size) / f(out_size))


def lower_bilinear_f32(graph: Graph, op: Operator) -> Lowered:
    """float32: reference_ops::ResizeBilinear<float>, its float arithmetic in the kernel."""
    x, y, in_h, in_w, out_h, out_w = _operands(graph, op, ("float32",))
    opts: ResizeBilinearOptions = op.options
    if opts.align_corners and opts.half_pixel_centers:
        raise unsupported(graph, op, "align_corners and half_pixel_centers together",
                          "TFLM allows one of them at a time")
    params = ResizeBilinearF32Params(
        batches=x.shape[0], in_h=in_h, in_w=in_w, depth=x.shape[3], out_h=out_h, out_w=out_w,
        height_scale=_scale_f32(in_h, out_h, opts.align_corners), width_scale=_scale_f32(in_w, out_w, opts.align_corners),
        half_pixel_centers=bool(opts.half_pixel_centers))
    return Lowered(op=op, kernel="resize_bilinear_f32", params=params, inputs=(x.index,), outputs=(y.index,))


def lower_bilinear(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_bilinear_f32(graph, op)
    x, y, in_h, in_w, out_h, out_w = _operands(graph, op, ("int8",))
    opts: ResizeBilinearOptions = op.options
    if opts.align_corners and opts.half_pixel_centers:
        raise unsupported(graph, op, "align_corners and half_pixel_centers together",
                          "TFLM refuses it: if half_pixel_centers is True, align_corners must be False")
    n, depth = x.shape[0], x.shape[3]
    y_taps = bilinear_taps(in_h, out_h, opts.align_corners, opts.half_pixel_centers)
    x_taps = bilinear_taps(in_w, out_w, opts.align_corners, opts.half_pixel_centers)
    for taps, size, axis in ((y_taps, in_h, "row"), (x_taps, in_w, "column")):
        bad = [t for t in taps if not (0 <= t[0] < size and 0 <= t[1] < size)]
        if bad:
            raise unsupported(graph, op, f"a source {axis} {bad[0][:2]} falls outside the input's {size}: "
                                         "TFLM would read outside the input",
                              "resize in two steps, or change the sizes")
    # offsets in bytes (int8: elements) of the two rows / columns, and the upper one's weight
    y_table = [(lo * in_w * depth, hi * in_w * depth, w) for lo, hi, w in y_taps]
    x_table = [(lo * depth, hi * depth, w) for lo, hi, w in x_taps]
    params = ResizeBilinearParams(batches=n, out_h=out_h, out_w=out_w, depth=depth, in_batch_bytes=in_h * in_w * depth)
    consts = (ConstArray("y_taps", "int32_t", np.asarray(y_table, dtype=np.int32).reshape(-1)),
              ConstArray("x_taps", "int32_t", np.asarray(x_table, dtype=np.int32).reshape(-1)))
    sources, inputs, operand = operand_sources((x,))
    return Lowered(op=op, kernel="resize_bilinear", params=replace(params, sources=sources), inputs=inputs,
                   outputs=(y.index,), consts=operand + consts)


_MOVES_DATA = QuantRule(2, output_as_input=True, activation_inputs=(0,))

SPECS = [
    OpSpec(name="resize_nearest_neighbor", builtin="RESIZE_NEAREST_NEIGHBOR", options=ResizeNearestNeighborOptions,
           fb_options="ResizeNearestNeighborOptions", lower=lower_nearest, kernels=(remap.REMAP,), quant=_MOVES_DATA,
           doc="int8/int16/float32 NHWC, constant size, align_corners, half_pixel_centers; source rows and "
               "columns computed offline, a copy of depth-long runs"),
    OpSpec(name="resize_bilinear", builtin="RESIZE_BILINEAR", options=ResizeBilinearOptions,
           fb_options="ResizeBilinearOptions", lower=lower_bilinear,
           kernels=(reference_kernel("resize_bilinear"), reference_kernel("resize_bilinear_f32")), quant=_MOVES_DATA,
           doc="int8 NHWC (TFLM's integer path), constant size, align_corners or half_pixel_centers; "
               "source taps and weights computed offline; float32 (TFLM's float arithmetic)"),
]
