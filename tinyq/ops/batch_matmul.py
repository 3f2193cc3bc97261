"""BATCH_MATMUL on int8 and int16: adj_x / adj_y, broadcast batch dimensions, either operand constant.

TFLM (kernels/batch_matmul.cc, reference_ops::BatchMatMul) transposes operands into
its arena and walks the batches, but the arithmetic is one int32 dot product per
output, sum((lhs + lhs_offset) * (rhs + rhs_offset)), then MultiplyByQuantizedMultiplier
with lhs_scale * rhs_scale / out_scale and the int8 clamp (no fused activation). int32
addition wraps the same in any order, so tinyq's kernel reads both operands in place
through strides (adj_x / adj_y are strides, no transposed copies) and a constant
operand is stored in flash already in the order the kernel reads it. int16 (zero points 0, as
TFLM requires) sums in int64 and requantizes with the 64-bit MultiplyByQuantizedMultiplier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops import f32, s16
from tinyq.ops.common import ACTIVATION_SUFFIX, io, require_int8_or_int16, require_shifts, require_zero_point_0
from tinyq.ops.ndloops import LoopNest, broadcast_loops, broadcast_shape

MIN_RANK, MAX_RANK = 2, 5  # TFLM's Prepare


@dataclass(frozen=True)
class BatchMatMulOptions:
    adj_x: bool = False
    adj_y: bool = False
    asymmetric_quantize_inputs: bool = False


@dataclass(frozen=True)
class BatchMatMulParams:
    batches: LoopNest  # over the output's matrices; stride_a steps the lhs, stride_b the rhs (elements)
    sources: tuple[int, ...]  # operand i: slot in Lowered.inputs, or -1 for the flash array operand<i>
    rows: int  # A: lhs rows, output rows
    cols: int  # C: rhs columns, output columns
    depth: int  # B: the accumulated dimension
    lhs_row_stride: int
    lhs_depth_stride: int
    rhs_depth_stride: int
    rhs_col_stride: int
    lhs_offset: int
    rhs_offset: int
    output_offset: int
    multiplier: int
    shift: int
    adj_x: bool  # as given (the strides above already apply them)
    adj_y: bool
    lhs_batch_shape: tuple[int, ...]  # the batch dimensions of each operand, extended to the output's rank
    rhs_batch_shape: tuple[int, ...]

    # Library kernels want the lhs row-major [A, B] and the rhs transposed [C, B] (as TFLM's
    # CMSIS-NN glue passes them): the bytes of the copy an activation operand needs for that.
    @property
    def lhs_copy_bytes(self) -> int:
        transposed = self.adj_x and self.sources[0] >= 0
        return math.prod(self.lhs_batch_shape) * self.rows * self.depth if transposed else 0

    @property
    def rhs_copy_bytes(self) -> int:
        transposed = not self.adj_y and self.sources[1] >= 0
        return math.prod(self.rhs_batch_shape) * self.depth * self.cols if transposed else 0


def _matrix_dims(t: Tensor, transposed: bool) -> tuple[int, int]:
    """(rows, columns) of the operand as the product sees it."""
    r, c = t.shape[-2], t.shape[-1]
    return (c, r) if transposed else (r, c)


def _stored(t: Tensor, transposed_in_file: bool, want_transposed: bool) -> np.ndarray:
    """A constant operand's values with its two last dimensions in the order the kernel reads."""
    data = np.asarray(t.data, dtype=t.dtype)
    if transposed_in_file != want_transposed:
        data = np.swapaxes(data, -1, -2)
    return np.ascontiguousarray(data).reshape(-1)


def lower(graph: Graph, op: Operator) -> Lowered:
    (lhs, rhs, *extra), (y,) = io(graph, op, 2)
    if extra:
        raise unsupported(graph, op, f"expects 2 inputs, has {2 + len(extra)}", "the file is corrupt")
    if f32.is_float(lhs):  # float32: sums from 0.0f over the depth in order, no requantization
        f32.require_float32(graph, op, lhs, rhs, y)
        dtype = "float32"
    else:
        dtype = require_int8_or_int16(graph, op, lhs, rhs, y)
    if dtype == "int16":
        require_zero_point_0(graph, op, lhs, rhs, y, why="TFLM's int16 BATCH_MATMUL")
    # an operand quantized per channel is read at its first scale and zero point, as TFLM reads it
    for t, role in ((lhs, "lhs"), (rhs, "rhs")):
        if not MIN_RANK <= len(t.shape) <= MAX_RANK:
            raise unsupported(graph, op, f"{role} has rank {len(t.shape)}; TFLM takes ranks {MIN_RANK} to {MAX_RANK}")
    opts: BatchMatMulOptions = op.options
    rows, depth = _matrix_dims(lhs, opts.adj_x)
    rhs_depth, cols = _matrix_dims(rhs, opts.adj_y)
    if depth != rhs_depth:
        raise unsupported(graph, op, f"lhs {list(lhs.shape)} (adj_x={opts.adj_x}) and rhs {list(rhs.shape)} "
                                     f"(adj_y={opts.adj_y}) do not multiply: {depth} != {rhs_depth}")
    rank = max(len(lhs.shape), len(rhs.shape))
    lhs_batch = (1,) * (rank - len(lhs.shape)) + tuple(lhs.shape[:-2])
    rhs_batch = (1,) * (rank - len(rhs.shape)) + tuple(rhs.shape[:-2])
    batch = broadcast_shape(lhs_batch, rhs_batch)
    if batch is None:
        raise unsupported(graph, op, f"batch dimensions {list(lhs_batch)} and {list(rhs_batch)} do not broadcast")
    out_shape = batch + (rows, cols)
    if y.numel != int(np.prod(out_shape, dtype=np.int64)) or len(y.shape) < rank:
        raise unsupported(graph, op, f"output {list(y.shape)} is not the product's shape {list(out_shape)}")
    multiplier, shift = qmath.mul_rescale(lhs.quant.s, rhs.quant.s, y.quant.s) if dtype != "float32" else (0, 0)
    if dtype == "float32":
        pass
    elif dtype == "int16":
        s16.require_accumulator_shifts(graph, op, [shift], wide=True)  # TFLM sums int16 in int64
    else:
        require_shifts(graph, op, [shift])

    # operands are read in their file order, constants in the order the loops walk (row-major
    # lhs [A, B], column-major rhs [C, B]) so the inner product steps through consecutive bytes
    lhs_t = opts.adj_x and not lhs.is_const
    rhs_t = not (opts.adj_y or rhs.is_const)
    lhs_row, lhs_k = (1, rows) if lhs_t else (depth, 1)
    rhs_k, rhs_c = (cols, 1) if rhs_t else (1, depth)
    sources, inputs, consts = [], [], []
    for i, (t, in_file_t, kernel_t) in enumerate(((lhs, opts.adj_x, lhs_t), (rhs, not opts.adj_y, rhs_t))):
        if t.is_const:
            sources.append(-1)
            ctype = "float" if dtype == "float32" else f"{dtype}_t"
            consts.append(ConstArray(f"operand{i}", ctype, _stored(t, in_file_t, kernel_t)))
        else:
            sources.append(len(inputs))
            inputs.append(t.index)
    loops = broadcast_loops(lhs_batch, rhs_batch, batch)
    loops = LoopNest(shape=loops.shape, stride_a=tuple(s * rows * depth for s in loops.stride_a),
                     stride_b=tuple(s * depth * cols for s in loops.stride_b))
    params = BatchMatMulParams(
        batches=loops, sources=tuple(sources), rows=rows, cols=cols, depth=depth, lhs_row_stride=lhs_row,
        lhs_depth_stride=lhs_k, rhs_depth_stride=rhs_k, rhs_col_stride=rhs_c,
        lhs_offset=-lhs.quant.zp if lhs.quant else 0, rhs_offset=-rhs.quant.zp if rhs.quant else 0,
        output_offset=y.quant.zp if y.quant else 0, multiplier=multiplier, shift=shift,
        adj_x=bool(opts.adj_x), adj_y=bool(opts.adj_y), lhs_batch_shape=lhs_batch, rhs_batch_shape=rhs_batch)
    suffix = f32.SUFFIX if dtype == "float32" else ACTIVATION_SUFFIX[dtype]
    return Lowered(op=op, kernel="batch_matmul" + suffix, params=params, inputs=tuple(inputs), outputs=(y.index,),
                   consts=tuple(consts))


SPECS = [OpSpec(name="batch_matmul", builtin="BATCH_MATMUL", options=BatchMatMulOptions,
                fb_options="BatchMatMulOptions", lower=lower,
                kernels=(reference_kernel("batch_matmul"), reference_kernel("batch_matmul_s16"),
                         reference_kernel("batch_matmul_f32")),
                # int8 takes any zero points (TFLM and arm_batch_matmul_s8 offset both operands and the
                # output); zero point 0 there would halve the codes of a one-signed operand
                quant=QuantRule(2),
                doc=f"int8 and int16 (zero points 0), float32, adj_x/adj_y, ranks {MIN_RANK}-{MAX_RANK} with broadcast batch dimensions, "
                    "either operand constant (in flash)")]
