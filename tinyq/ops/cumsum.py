"""CUMSUM on int8: running sums along one axis, exclusive or not, forward or reversed.

TFLM's int8 kernel (kernels/cumsum.cc, reference_ops::CumSum) is ADD's arithmetic:
each input is shifted left 20 bits and halved onto the common scale 2 * s_in / 2^20,
the running sum adds those, and every output rescales the sum to s_out. Its
accumulator does not start at zero but at the input offset -zp brought to that
scale (TFLM's own quirk, reproduced), and it adds in int32, wrapping on overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_const, require_int8
from tinyq.ops.inplace import ELEMENTWISE

LEFT_SHIFT = 20  # kCumSumIntegerShift


@dataclass(frozen=True)
class CumsumOptions:
    exclusive: bool = False
    reverse: bool = False


@dataclass(frozen=True)
class CumsumParams:
    before: int  # product of the dimensions before the axis
    depth: int  # the axis' extent
    after: int  # product of the dimensions after it
    exclusive: bool
    reverse: bool
    input_offset: int
    input_multiplier: int
    input_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int


@dataclass(frozen=True)
class CumsumF32Params:
    before: int
    depth: int
    after: int
    exclusive: bool
    reverse: bool


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, axis_t, *_), (y,) = io(graph, op, 2)
    is_float = f32.is_float(x)
    if is_float:
        f32.require_float32(graph, op, x, y)
    else:
        require_int8(graph, op, x, y)
    require_const(graph, op, axis_t, "axis")
    if axis_t.dtype != "int32":
        raise unsupported(graph, op, f"axis tensor is {axis_t.dtype}; TFLM requires int32")
    if axis_t.numel != 1:
        raise unsupported(graph, op, f"the axis tensor holds {axis_t.numel} values; TFLM requires one")
    if tuple(x.shape) != tuple(y.shape):
        raise unsupported(graph, op, f"output {list(y.shape)} differs from input {list(x.shape)}; "
                                     "TFLM requires the same shape")
    rank = len(x.shape)
    if rank < 1:
        raise unsupported(graph, op, "the input is a scalar; TFLM requires rank 1 or more")
    axis = int(np.asarray(axis_t.data).reshape(-1)[0])
    if not -rank <= axis < rank:
        raise unsupported(graph, op, f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    opts: CumsumOptions = op.options
    geometry = dict(before=int(np.prod(x.shape[:axis], dtype=np.int64)), depth=x.shape[axis],
                    after=int(np.prod(x.shape[axis + 1:], dtype=np.int64)), exclusive=bool(opts.exclusive),
                    reverse=bool(opts.reverse))
    if is_float:  # reference_ops::CumSum<float>: a running float sum from 0.0f
        return Lowered(op=op, kernel="cumsum_f32", params=CumsumF32Params(**geometry), inputs=(x.index,),
                       outputs=(y.index,))
    rescale = qmath.add_rescale(x.quant.s, x.quant.s, y.quant.s, LEFT_SHIFT)
    if rescale is None:
        raise unsupported(graph, op, "the output scale is too small for the input scale "
                                     "(TFLM needs 2 * input scale < 2^20 * output scale)")
    (m_in, s_in), _, (m_out, s_out) = rescale
    params = CumsumParams(**geometry, input_offset=-x.quant.zp, input_multiplier=m_in,
                          input_shift=s_in, output_offset=y.quant.zp, output_multiplier=m_out, output_shift=s_out)
    return Lowered(op=op, kernel="cumsum", params=params, inputs=(x.index,), outputs=(y.index,))


SPECS = [OpSpec(name="cumsum", builtin="CUMSUM", options=CumsumOptions, fb_options="CumsumOptions", lower=lower,
                kernels=(reference_kernel("cumsum", inplace=ELEMENTWISE),
                         reference_kernel("cumsum_f32", inplace=ELEMENTWISE)),
                # TFLM's running sum starts at the input offset: every output is off by -zp_in * s_in (a
                # constant error of up to half the input's range), none at zero point 0
                quant=QuantRule(1, activation_inputs=(0,), zero_point_0=True),
                doc="int8 and float32, constant int32 axis (negative too), exclusive and reverse")]
