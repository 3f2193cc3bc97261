"""Checks and parameter helpers that several op descriptions share."""

from __future__ import annotations

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, unsupported

ACTIVATIONS_WITH_RANGE = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


# The kernels shift an int32 left by at most 31 bits (tq_common.h); QuantizeMultiplier never gives
# a right shift beyond 31. A larger left shift means scales whose ratio is 2^31 or more.
MAX_LEFT_SHIFT = 31


def io(graph: Graph, op: Operator, n_in: int | None = None, n_out: int = 1):
    """The op's input and output tensors, after checking how many there are, that the first n_in
    inputs are present and that no activation is empty."""
    ins = graph.op_inputs(op)
    outs = graph.op_outputs(op)
    if n_in is not None and len(ins) < n_in:
        raise unsupported(graph, op, f"expects {n_in} inputs, has {len(ins)}", "the file is corrupt")
    missing = [i for i, t in enumerate(ins[:n_in or 0]) if t is None]
    if missing:
        raise unsupported(graph, op, f"input {missing[0]} is missing (-1)", "the file is corrupt")
    if len(outs) != n_out:
        raise unsupported(graph, op, f"expects {n_out} output(s), has {len(outs)}", "the file is corrupt")
    for t in (*ins, *outs):
        if t is not None and not t.is_const and t.numel == 0:
            raise unsupported(graph, op, f"tensor {t.index} ({t.name}) is empty (shape {list(t.shape)})",
                              "tinyq's kernels need at least one element")
    return ins, outs


def require_shifts(graph: Graph, op: Operator, shifts, what: str = "requantization") -> None:
    """Every multiplier's shift within what the kernels (and TFLM's defined behaviour) allow."""
    worst = max((int(s) for s in shifts), default=0)
    if worst > MAX_LEFT_SHIFT:
        raise unsupported(graph, op, f"the {what} multiplier is 2^{worst - 1} or more: the scales are "
                                     "implausible", "re-quantize the model; real scale ratios are far smaller")


def require_int8(graph: Graph, op: Operator, *tensors: Tensor | None, what: str = "tensor") -> None:
    """Activations must be per-tensor int8 with quantization parameters."""
    for t in tensors:
        if t is None:
            continue
        if t.dtype != "int8":
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) is {t.dtype}; only int8 is supported",
                              "quantize the model to int8 first (tinyq quantize)")
        if t.quant is None:
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) has no quantization parameters",
                              "quantize the model to int8 first (tinyq quantize)")
        if t.quant.per_channel and not t.is_const:
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) is quantized per channel; "
                                         "activations must be per-tensor")


def require_const(graph: Graph, op: Operator, t: Tensor | None, role: str) -> Tensor:
    if t is None or not t.is_const:
        raise unsupported(graph, op, f"{role} must be a constant tensor", "tinyq keeps it in flash, computed offline")
    return t


def fused_range(graph: Graph, op: Operator, activation: str, out: Tensor) -> tuple[int, int]:
    if activation not in ACTIVATIONS_WITH_RANGE:
        raise unsupported(graph, op, f"fused activation {activation} is not supported for int8",
                          "use NONE, RELU, RELU6 or RELU_N1_TO_1")
    bounds = qmath.activation_range(activation, out.quant.s, out.quant.zp)
    if bounds is None:
        raise unsupported(graph, op, f"fused {activation} bounds at output scale {out.quant.s:g} do not fit int32",
                          "TFLM's conversion is undefined there; the output scale is implausible")
    return bounds


def requant_arrays(mults, shifts) -> tuple[ConstArray, ConstArray]:
    return (ConstArray("multiplier", "int32_t", np.asarray(mults, dtype=np.int32)),
            ConstArray("shift", "int8_t", np.asarray(shifts, dtype=np.int8)))


def bias_array(graph: Graph, op: Operator, bias: Tensor | None, channels: int) -> ConstArray | None:
    if bias is None:
        return None
    require_const(graph, op, bias, "bias")
    if bias.dtype != "int32":
        raise unsupported(graph, op, f"bias is {bias.dtype}; only int32 biases are supported with int8",
                          "int8 models carry int32 biases; re-quantize the model")
    if bias.numel != channels:
        raise unsupported(graph, op, f"bias has {bias.numel} values for {channels} channels",
                          "the model's shapes are inconsistent; re-export it")
    return ConstArray("bias", "int32_t", np.asarray(bias.data, dtype=np.int32).reshape(-1))
