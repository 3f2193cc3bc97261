"""ADD_N (int8): the sum of two or more equally shaped tensors.

TFLM (add_n.cc) requires every input to have the first one's shape, type, scale and
zero point; each is rescaled as ADD does (20 bits of headroom, multiplier 1/2), the
rescaled values summed starting from the rescaled input offset (TFLM's own quirk),
and the sum rescaled to the output, clamped to int8 (no fused activation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.broadcast_binary import lowered
from tinyq.ops.common import io, require_int8
from tinyq.ops.inplace import ELEMENTWISE


@dataclass(frozen=True)
class AddNParams:
    count: int
    sources: tuple[int, ...]
    input_offset: int
    output_offset: int
    left_shift: int
    input_multiplier: int
    input_shift: int
    output_multiplier: int
    output_shift: int


def lower(graph: Graph, op: Operator) -> Lowered:
    ins, (y,) = io(graph, op, len(op.inputs))
    if len(ins) < 2:
        raise unsupported(graph, op, f"has {len(ins)} input; TFLM's ADD_N needs at least 2", "the file is corrupt")
    first = ins[0]
    if f32.is_float(first):
        return _lower_f32(graph, op, ins, y)
    require_int8(graph, op, *ins, y)
    for t in ins[1:]:
        if tuple(t.shape) != tuple(first.shape):
            raise unsupported(graph, op, f"input {t.index} has shape {list(t.shape)}, the first {list(first.shape)}; "
                                         "TFLM's ADD_N does not broadcast")
        if t.quant.zp != first.quant.zp or np.float32(t.quant.s) != np.float32(first.quant.s):
            raise unsupported(graph, op, f"input {t.index} ({t.name}) is quantized unlike the first input; "
                                         "TFLM's ADD_N needs one scale and zero point for all")
    if tuple(y.shape) != tuple(first.shape):
        raise unsupported(graph, op, f"output shape {list(y.shape)} is not the inputs' {list(first.shape)}")
    rescale = qmath.add_n_rescale(first.quant.s, y.quant.s)
    if rescale is None:
        raise unsupported(graph, op, "the output scale is too small for the input scale "
                                     "(TFLM needs 2 * input scale < 2^20 * output scale)")
    (mi, si), (mo, so) = rescale
    return lowered(op, "add_n", AddNParams, tuple(ins), y, count=y.numel, input_offset=-first.quant.zp,
                   output_offset=y.quant.zp, left_shift=qmath.ADD_N_LEFT_SHIFT, input_multiplier=mi,
                   input_shift=si, output_multiplier=mo, output_shift=so)


@dataclass(frozen=True)
class AddNF32Params:
    count: int
    sources: tuple[int, ...]


def _lower_f32(graph: Graph, op: Operator, ins, y) -> Lowered:
    """float32: reference_ops::AddN, each output the inputs' sum from 0.0f in input order."""
    f32.require_float32(graph, op, *ins, y)
    for t in ins:
        if tuple(t.shape) != tuple(y.shape):
            raise unsupported(graph, op, f"input {t.index} has shape {list(t.shape)}, the output {list(y.shape)}; "
                                         "TFLM's ADD_N does not broadcast")
    return lowered(op, "add_n_f32", AddNF32Params, tuple(ins), y, count=y.numel)


SPECS = [OpSpec(name="add_n", builtin="ADD_N", lower=lower,
                kernels=(reference_kernel("add_n", inplace=ELEMENTWISE), reference_kernel("add_n_f32", inplace=ELEMENTWISE)),
                # TFLM: every input of one quantization; its sums start at the input offset, true at zero point 0
                quant=QuantRule(1, inputs_as_output=True, zero_point_0=True),
                doc="int8, two or more inputs of one shape and quantization (TFLM's rescaling, its offset "
                    "start too), constant inputs in flash; float32")]
