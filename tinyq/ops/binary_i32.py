"""int32 ADD, SUB and MUL: TFLM's kernels on unquantized int32 tensors (shape and index arithmetic,
the int32 tail of TFLM's micro_speech audio preprocessor).

TFLM's int32 ADD (add.cc) adds with the activation range set to all of int32, so a fused
activation is ignored; SUB and MUL clamp to CalculateActivationRange<int32_t> (RELU [0, max],
RELU6 [0, 6], RELU_N1_TO_1 [-1, 1]). Sums and products past int32 overflow in TFLM's C++ (undefined,
and wrapping in its build); tinyq's kernels wrap with unsigned arithmetic. ADD requires
unquantized operands as TFLM's Prepare does; MUL reads int32 values whatever their quantization,
as TFLM's Eval does. The broadcast walk is the one the other binary families share.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator
from tinyq.ops.base import Lowered, reference_kernel, unsupported
from tinyq.ops.broadcast_binary import broadcast_operands, lowered
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.ndloops import LoopNest

INT32 = "int32"
ACTIVATIONS = {"NONE": (qmath.INT32_MIN, qmath.INT32_MAX), "RELU": (0, qmath.INT32_MAX), "RELU6": (0, 6),
               "RELU_N1_TO_1": (-1, 1)}
KERNELS = {"add": "add_i32", "sub": "sub_i32", "mul": "mul_i32"}


@dataclass(frozen=True)
class BinaryI32Params:
    loops: LoopNest
    sources: tuple[int, ...]
    act_min: int
    act_max: int


def takes_int32(graph: Graph, op: Operator) -> bool:
    x = graph.tensor(op.inputs[0]) if op.inputs else None
    return x is not None and x.dtype == INT32


def lower_binary_i32(graph: Graph, op: Operator) -> Lowered:
    a, b, y, loops = broadcast_operands(graph, op, (INT32,))
    if y.dtype != INT32:
        raise unsupported(graph, op, f"output is {y.dtype}, operands int32; TFLM writes int32")
    if op.op == "add":
        for t in (a, b, y):
            if t.quant is not None:
                raise unsupported(graph, op, f"int32 tensor {t.index} ({t.name}) is quantized; TFLM's int32 ADD "
                                             "takes unquantized tensors only (its Prepare fails)")
        act_min, act_max = ACTIVATIONS["NONE"]  # TFLM's int32 ADD ignores the fused activation
    else:
        activation = getattr(op.options, "fused_activation_function", "NONE")
        if activation not in ACTIVATIONS:
            raise unsupported(graph, op, f"fused activation {activation} is not supported",
                              "use NONE, RELU, RELU6 or RELU_N1_TO_1")
        act_min, act_max = ACTIVATIONS[activation]
    return lowered(op, KERNELS[op.op], BinaryI32Params, (a, b), y, loops=loops, act_min=act_min, act_max=act_max)


def kernel(name: str):
    return reference_kernel(name, inplace=ELEMENTWISE)
