"""TRANSPOSE: the input's dimensions permuted, as one strided copy (or a view when only
size-1 dimensions move)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.copy_loops import (CopyLoops, copy_lowered, const_ints, gather_loops, item_size, require_dtypes,
                                  row_major_strides)

MAX_RANK = 5  # TransposePrepare: "Transpose op only supports 1D-5D input arrays"
DTYPES = ("float32", "int8", "int16")  # TransposeEval's cases


@dataclass(frozen=True)
class TransposeOptions:
    pass


@dataclass(frozen=True)
class TransposeParams:
    loops: CopyLoops
    sources: tuple[int, ...]
    perm: tuple[int, ...]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    dtype: str


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, p, *_), (y,) = io(graph, op, 2)
    require_dtypes(graph, op, [x, y], DTYPES)
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(graph, op, f"rank {rank} input; TFLM transposes 1-D to {MAX_RANK}-D tensors")
    perm = const_ints(graph, op, p, "perm")
    if sorted(perm) != list(range(rank)):
        raise unsupported(graph, op, f"perm {perm} is not a permutation of the {rank} dimensions")
    expected = [x.shape[d] for d in perm]
    if list(y.shape) != expected:
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} permuted by {perm} "
                                     f"(expected {expected})")
    item = item_size(x)
    in_strides = row_major_strides(x.shape, item)
    loops = gather_loops(y.shape, [in_strides[d] for d in perm], item)
    return copy_lowered(op, "transpose", x, y, loops, TransposeParams, perm=tuple(perm), in_shape=tuple(x.shape),
                        out_shape=tuple(y.shape), dtype=x.dtype)


SPECS = [OpSpec(name="transpose", builtin="TRANSPOSE", options=TransposeOptions, fb_options="TransposeOptions",
                lower=lower, kernels=(reference_kernel("transpose"),),
                quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
                doc=f"any permutation, 1-D to {MAX_RANK}-D, {', '.join(DTYPES)}, constant int32 perm; a view when "
                    "only size-1 dimensions move")]
