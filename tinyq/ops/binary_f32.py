"""The float32 broadcasting binary ops (ADD, SUB, MUL, DIV with a fused activation; SQUARED_DIFFERENCE,
MAXIMUM, MINIMUM, FLOOR_DIV, FLOOR_MOD without): one walk of the output (tinyq/ops/ndloops.py) applying
TFLM's float element function, templates/reference/kernels/tq_binary_f32.c.

TFLM's float kernels run the same per-element expression whether they broadcast or not, so the
walk order never changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator
from tinyq.ops import f32
from tinyq.ops.base import Lowered, reference_kernel, unsupported
from tinyq.ops.broadcast_binary import broadcast_operands, lowered
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest

# kernel -> whether TFLM clamps the result to the fused activation's range
CLAMPS = {"add_f32": True, "sub_f32": True, "mul_f32": True, "div_f32": True, "squared_difference_f32": False,
          "maximum_minimum_f32": False, "floor_div_f32": False, "floor_mod_f32": False, "prelu_f32": False}

# TFLM's float PRELU (BroadcastPrelu4DSlowFloat) walks 4 dimensions
PRELU_MAX_RANK = 4


@dataclass(frozen=True)
class BinaryF32Params:
    loops: LoopNest
    sources: tuple[int, ...]
    act_min: float
    act_max: float
    divisor_count: int  # elements of the second operand (FLOOR_DIV checks each for 0)


def lower_binary_f32(graph: Graph, op: Operator, kernel: str) -> Lowered:
    a, b, y, loops = broadcast_operands(graph, op, (f32.FLOAT32,))
    f32.require_float32(graph, op, y, what="output")
    if kernel == "prelu_f32" and len(y.shape) > PRELU_MAX_RANK:
        raise unsupported(graph, op, f"rank {len(y.shape)} is above the {PRELU_MAX_RANK} dimensions TFLM's float "
                                     "PRELU walks", "reshape to 4 dimensions or fewer")
    activation = getattr(op.options, "fused_activation_function", "NONE") if CLAMPS[kernel] else "NONE"
    act_min, act_max = f32.activation_range(activation)
    if not CLAMPS[kernel]:  # no clamp at all: the C function ignores the range
        act_min, act_max = -f32.FLT_MAX, f32.FLT_MAX
    return lowered(op, kernel, BinaryF32Params, (a, b), y, loops=loops, act_min=act_min, act_max=act_max,
                   divisor_count=b.numel)


def kernel(name: str):
    """The reference kernel of one of the family's ops."""
    if name not in CLAMPS:
        raise ValueError(name)
    return reference_kernel(name, inplace=ELEMENTWISE)


def refuse_non_float(graph: Graph, op: Operator) -> None:
    """FLOOR_DIV and FLOOR_MOD: TFLM's kernels run float32 only."""
    x = graph.tensor(op.inputs[0]) if op.inputs else None
    if x is None or x.dtype != f32.FLOAT32:
        dtype = x.dtype if x is not None else "?"
        raise unsupported(graph, op, f"{op.op.upper()} on {dtype} is not supported: TFLM's kernel runs float32 only",
                          "TFLM has no integer kernel for it either")
