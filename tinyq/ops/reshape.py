"""RESHAPE (and the shape-only ops that behave like it): a view, no data moves."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io


@dataclass(frozen=True)
class ReshapeOptions:
    new_shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class SqueezeOptions:
    squeeze_dims: tuple[int, ...] = ()


@dataclass(frozen=True)
class ViewParams:
    bytes: int


# TFLM allocates every tensor at its declared shape before it runs: one computed at run time is refused
DYNAMIC_HINT = "re-export with a fixed batch size, e.g. keras.Input(shape, batch_size=1)"


def lower(graph: Graph, op: Operator) -> Lowered:
    # TFLM never reads RESHAPE's shape operand (the output's declared shape is the result), which may be
    # an empty [0] tensor with no data: MLIR's export of a reshape to a scalar
    (x, *_), (y,) = io(graph, op, 1, unread=(1,))
    if x.nbytes != y.nbytes or x.dtype != y.dtype:
        dynamic = y.shape_signature is not None and -1 in y.shape_signature
        raise unsupported(graph, op, f"input {x.dtype}{list(x.shape)} and output {y.dtype}{list(y.shape)} "
                                     "differ in size or type" + (
                              f"; the output's shape is left to run time (signature {list(y.shape_signature)}), "
                              "as after an export with an unknown batch size" if dynamic else ""),
                          DYNAMIC_HINT if dynamic else None)
    if x.quant != y.quant:
        raise unsupported(graph, op, "input and output quantization differ",
                          "a view cannot requantize; TFLM requires them equal")
    return Lowered(op=op, kernel="view", params=ViewParams(bytes=x.nbytes), inputs=(x.index,),
                   outputs=(y.index,), alias_of=x.index)


VIEW = reference_kernel("view")  # no code: the output is the input's bytes

SPECS = [
    OpSpec(name="reshape", builtin="RESHAPE", options=ReshapeOptions, fb_options="ReshapeOptions",
           lower=lower, kernels=(VIEW,), quant=QuantRule(1, output_as_input=True, activation_inputs=(0,)),
           doc="a view of its input: no copy, no arena"),
    OpSpec(name="squeeze", builtin="SQUEEZE", options=SqueezeOptions, fb_options="SqueezeOptions",
           lower=lower, kernels=(VIEW,), quant=QuantRule(1, output_as_input=True),
           doc="a view of its input: no copy, no arena"),
    OpSpec(name="expand_dims", builtin="EXPAND_DIMS", lower=lower, kernels=(VIEW,),
           quant=QuantRule(1, output_as_input=True, activation_inputs=(0,)), doc="a view of its input"),
]
