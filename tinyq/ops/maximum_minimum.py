"""MAXIMUM and MINIMUM: int8, int16, int32, int64, any TFLite broadcast.

TFLM's kernel (maximum_minimum.cc) has no Prepare: it compares the stored integers
and copies the larger (smaller) one, whatever the operands' and the output's
quantization (the converter gives all three the same). tinyq does the same, so a
model whose scales differ runs exactly as in TFLM. Both ops share one kernel; the
CMSIS-NN layer runs int8 through arm_maximum_s8 / arm_minimum_s8
(tinyq/backends/cmsis_nn/maximum_minimum.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.binary_f32 import kernel as f32_kernel, lower_binary_f32
from tinyq.ops.broadcast_binary import MAX_BROADCAST_RANK, C_SUFFIX, broadcast_operands, lowered
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest

DTYPES = ("int8", "int16", "int32", "int64")  # TFLM's integer cases (float32: tinyq/ops/binary_f32.py)


@dataclass(frozen=True)
class MaximumMinimumParams:
    loops: LoopNest
    sources: tuple[int, ...]
    suffix: str  # C entry point: tq_<op>_<suffix>

    def fused_shapes(self, rank: int) -> tuple[tuple[int, ...], ...] | None:
        """(output, x, y) as shapes of `rank` dimensions that walk the same fused loops (an operand has 1
        where it broadcasts), or None when the walk needs more loops: what a library taking fixed-rank
        dims (CMSIS-NN's cmsis_nn_dims) is given."""
        n = self.loops
        if n.rank > rank:
            return None
        pad = (1,) * (rank - n.rank)
        return (pad + n.shape, pad + tuple(c if s else 1 for c, s in zip(n.shape, n.stride_a)),
                pad + tuple(c if s else 1 for c, s in zip(n.shape, n.stride_b)))


def lower(graph: Graph, op: Operator) -> Lowered:
    if f32.takes_float(graph, op):
        return lower_binary_f32(graph, op, "maximum_minimum_f32")
    a, b, y, loops = broadcast_operands(graph, op, DTYPES)
    if y.dtype != a.dtype:
        raise unsupported(graph, op, f"output is {y.dtype}, operands {a.dtype}; TFLM writes the operands' type")
    return lowered(op, "maximum_minimum", MaximumMinimumParams, (a, b), y, loops=loops, suffix=C_SUFFIX[a.dtype])


KERNEL = reference_kernel("maximum_minimum", inplace=ELEMENTWISE)
F32_KERNEL = f32_kernel("maximum_minimum_f32")
_DOC = (f"int8/int16/int32/int64 (the stored integers, as TFLM: no requantization), float32 (el1 > el2 ? el1 : "
        f"el2, as TFLM), broadcast up to rank "
        f"{MAX_BROADCAST_RANK}, constant operands in flash")

SPECS = [
    OpSpec(name="maximum", builtin="MAXIMUM", lower=lower, kernels=(KERNEL, F32_KERNEL),
           quant=QuantRule(2, inputs_as_output=True, constants_saturate=True, selects=True), doc=_DOC),
    OpSpec(name="minimum", builtin="MINIMUM", lower=lower, kernels=(KERNEL, F32_KERNEL),
           quant=QuantRule(2, inputs_as_output=True, constants_saturate=True, selects=True), doc=_DOC),
]
