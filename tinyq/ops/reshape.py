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
    # TFLM copies the bytes and never compares the two tensors' quantization: the output's values are the
    # input's bytes at the output's scale and zero point, which a view gives as well
    return Lowered(op=op, kernel="view", params=ViewParams(bytes=x.nbytes), inputs=(x.index,),
                   outputs=(y.index,), alias_of=x.index)


MAX_SQUEEZE_RANK = 8  # TFLM's max_squeeze_dims
EXPAND_DIMS_DTYPES = ("float32", "int16", "int8")  # what TFLM's EXPAND_DIMS Eval copies (it fails on others)


def lower_squeeze(graph: Graph, op: Operator) -> Lowered:
    """A view, after TFLM's SqueezePrepare: each listed dimension inside the input's rank and of size 1
    (none listed: every dimension of size 1), the output at least as large as each dimension kept."""
    (x, *_), (y,) = io(graph, op, 1)
    rank = len(x.shape)
    if rank > MAX_SQUEEZE_RANK:
        raise unsupported(graph, op, f"the input has rank {rank}; TFLM's SQUEEZE takes up to {MAX_SQUEEZE_RANK}")
    dims = tuple(int(d) for d in (op.options.squeeze_dims if op.options is not None else ()))
    squeezed = set()
    for d in dims:
        axis = d + rank if d < 0 else d
        if not 0 <= axis < rank or x.shape[axis] != 1:
            raise unsupported(graph, op, f"squeeze_dims {list(dims)} name dimension {d} of input {list(x.shape)}, "
                                         "which is not of size 1", "TFLM's Prepare refuses it; re-export the model")
        squeezed.add(axis)
    if not dims:
        squeezed = {axis for axis, n in enumerate(x.shape) if n == 1}
    kept = [n for axis, n in enumerate(x.shape) if axis not in squeezed]
    if len(kept) > len(y.shape) or any(o < n for o, n in zip(y.shape, kept)):
        raise unsupported(graph, op, f"output {list(y.shape)} cannot hold input {list(x.shape)} squeezed to "
                                     f"{kept}", "TFLM's Prepare refuses it; re-export the model")
    return lower(graph, op)


def lower_expand_dims(graph: Graph, op: Operator) -> Lowered:
    """A view, after TFLM's ExpandDimsPrepare (a constant int32 axis of at most one dimension, the output
    the input with a 1 inserted there) and the types its Eval copies."""
    (x, axis_t, *_), (y,) = io(graph, op, 2)
    if not axis_t.is_const or axis_t.dtype != "int32" or len(axis_t.shape) > 1 or axis_t.numel < 1:
        raise unsupported(graph, op, f"the axis is {'a constant' if axis_t.is_const else 'computed at run time'} "
                                     f"{axis_t.dtype}{list(axis_t.shape)}; TFLM takes a constant int32 scalar",
                          "re-export the model")
    rank = len(x.shape)
    axis = int(axis_t.data.reshape(-1)[0])
    axis = axis + rank + 1 if axis < 0 else axis
    expected = x.shape[:axis] + (1,) + x.shape[axis:]
    if not 0 <= axis <= rank or tuple(y.shape) != expected:
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} with a 1 inserted at "
                                     f"axis {int(axis_t.data.reshape(-1)[0])}",
                          "TFLM's Prepare refuses it; re-export the model")
    if x.dtype not in EXPAND_DIMS_DTYPES:
        raise unsupported(graph, op, f"{x.dtype} tensors: TFLM's EXPAND_DIMS copies "
                                     f"{', '.join(EXPAND_DIMS_DTYPES)} only (its Eval fails on others)",
                          "use RESHAPE, which TFLM runs on every type")
    return lower(graph, op)


VIEW = reference_kernel("view")  # no code: the output is the input's bytes

SPECS = [
    OpSpec(name="reshape", builtin="RESHAPE", options=ReshapeOptions, fb_options="ReshapeOptions",
           lower=lower, kernels=(VIEW,), quant=QuantRule(1, output_as_input=True, activation_inputs=(0,)),
           doc="a view of its input: no copy, no arena"),
    OpSpec(name="squeeze", builtin="SQUEEZE", options=SqueezeOptions, fb_options="SqueezeOptions",
           lower=lower_squeeze, kernels=(VIEW,), quant=QuantRule(1, output_as_input=True),
           doc="a view of its input: no copy, no arena"),
    OpSpec(name="expand_dims", builtin="EXPAND_DIMS", lower=lower_expand_dims, kernels=(VIEW,),
           quant=QuantRule(1, output_as_input=True, activation_inputs=(0,)), doc="a view of its input"),
]
