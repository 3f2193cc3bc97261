"""What the float32 kernels share: type checks, TFLM's float activation range, flash arrays.

TFLM runs float32 models through its reference kernels (no CMSIS-NN or ESP-NN float
kernels), so tinyq's `*_f32` kernels repeat their arithmetic operation for operation:
the same accumulation order, no fused multiply-add (tq_float_strict.h), the C library
functions TFLM calls reproduced in tq_libm_f32.c. Each float kernel's name carries the
`_f32` suffix (as `_s16` names the 16x8 kernels), so a backend layer declares exactly
the types it runs; the vendor layers have none, and bind records their reason.
"""

from __future__ import annotations

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, unsupported
from tinyq.ops.common import CONST_HINT

FLOAT32 = "float32"
SUFFIX = "_f32"

FLT_MAX = float(np.finfo(np.float32).max)

# CalculateActivationRange<float> (kernels/kernel_util.h): any other fused activation (TANH,
# SIGN_BIT) falls to the last case, so TFLM's float kernels clamp to the float range only.
_RANGES = {"RELU": (0.0, FLT_MAX), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def is_float(t: Tensor | None) -> bool:
    return t is not None and t.dtype == FLOAT32


def require_float32(graph: Graph, op: Operator, *tensors: Tensor | None, what: str = "tensor") -> None:
    """Every present tensor float32: TFLM's float kernels read and write float32 throughout."""
    for t in tensors:
        if t is not None and t.dtype != FLOAT32:
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) is {t.dtype} beside float32 tensors",
                              "TFLM's float kernel takes float32 throughout; convert with DEQUANTIZE or CAST")


def activation_range(activation: str) -> tuple[float, float]:
    """The fused activation as TFLM's float kernels apply it: min(max(x, lo), hi)."""
    return _RANGES.get(activation, (-FLT_MAX, FLT_MAX))


def float_array(t: Tensor, name: str) -> ConstArray:
    """A constant float32 tensor as a flash array."""
    return ConstArray(name, "float", np.asarray(t.data, dtype=np.float32).reshape(-1))


def require_const_float(graph: Graph, op: Operator, t: Tensor | None, role: str) -> Tensor:
    if t is None or not t.is_const:
        raise unsupported(graph, op, f"{role} must be a constant tensor", CONST_HINT)
    if t.dtype != FLOAT32:
        raise unsupported(graph, op, f"{role} is {t.dtype} beside float32 activations (a hybrid model); TFLM "
                                     "refuses hybrid models ('Hybrid models are not supported on TFLite Micro')",
                          "quantize the whole model (tinyq quantize), or keep float32 weights")
    return t


def bias_array(graph: Graph, op: Operator, b: Tensor | None, channels: int) -> tuple[ConstArray, ...]:
    """A float op's optional constant float32 bias, one value per output channel."""
    if b is None:
        return ()
    require_const_float(graph, op, b, "bias")
    if b.numel != channels:
        raise unsupported(graph, op, f"bias has {b.numel} values for {channels} output channels",
                          "the model's shapes are inconsistent; re-export it")
    return (float_array(b, "bias"),)


def takes_float(graph: Graph, op: Operator) -> bool:
    """Whether the op's first input is float32: the ops whose TFLM kernel switches on that type."""
    ins = graph.op_inputs(op)
    return bool(ins) and is_float(ins[0])
