"""The float32 element-wise ops: one kernel file (templates/reference/kernels/tq_unary_f32.c), each
op TFLM's float expression, the C library functions as the golden model's glibc computes them.

The ops that have integer kernels too (ABS, RSQRT, LOGISTIC, TANH, ELU, HARD_SWISH, RELU, RELU6,
LEAKY_RELU) call `lower_unary_f32` from their own module on a float32 input; the float-only ones
(NEG, SQUARE, SQRT, EXP, LOG: tinyq/ops/float_unary.py) and the ones below (SIN, COS, FLOOR, CEIL,
ROUND) have no integer kernel in TFLM, so an integer model with them is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import FLOAT_ISLAND, Kernel, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.inplace import ELEMENTWISE


@dataclass(frozen=True)
class UnaryF32Params:
    size: int
    alpha: float = 0.0  # LEAKY_RELU's slope below 0 (float32)


def lower_unary_f32(graph: Graph, op: Operator, alpha: float = 0.0) -> Lowered:
    """`op` on float32 input and output of one shape: kernel <op>_f32."""
    (x, *_), (y,) = io(graph, op, 1)
    f32.require_float32(graph, op, x, y)
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                          "the model's shapes are inconsistent; re-export it")
    return Lowered(op=op, kernel=op.op + f32.SUFFIX, params=UnaryF32Params(size=x.numel, alpha=alpha),
                   inputs=(x.index,), outputs=(y.index,))


def kernel(op_name: str) -> Kernel:
    """The float32 reference kernel of `op_name` (element-wise: it may write over its input)."""
    return reference_kernel(op_name + f32.SUFFIX, inplace=ELEMENTWISE)


def lower_float_only(graph: Graph, op: Operator) -> Lowered:
    """Ops TFLM runs on float32 alone."""
    (x, *_), _ = io(graph, op, 1)
    if not f32.is_float(x):
        raise unsupported(graph, op, f"{op.op.upper()} on {x.dtype} is not supported: TFLM's kernel is float32 only",
                          "TFLM has no integer kernel for it; run this part of the model in float32")
    return lower_unary_f32(graph, op)


_MATH_DOC = {
    "sin": "float32 only, as TFLM: glibc's sinf (its x86-64 FMA build) in plain C on every target",
    "cos": "float32 only, as TFLM: glibc's cosf (its x86-64 FMA build) in plain C on every target",
    "floor": "float32 only, as TFLM: exact",
    "ceil": "float32 only, as TFLM: exact",
    "round": "float32 only, as TFLM: half to even (TFLM's RoundToNearest)",
}

SPECS = [OpSpec(name=name, builtin=name.upper(), lower=lower_float_only, kernels=(kernel(name),), quant=FLOAT_ISLAND,
                doc=doc) for name, doc in _MATH_DOC.items()]
