"""Checks and parameter helpers that several op descriptions share."""

from __future__ import annotations

import numpy as np

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, unsupported

ACTIVATIONS_WITH_RANGE = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
INT_RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


# The kernels shift an int32 left by at most 31 bits (tq_common.h); QuantizeMultiplier never gives
# a right shift beyond 31. A larger left shift means scales whose ratio is 2^31 or more.
MAX_LEFT_SHIFT = 31


def io(graph: Graph, op: Operator, n_in: int | None = None, n_out: int = 1, unread: tuple[int, ...] = ()):
    """The op's input and output tensors, after checking how many there are, that the first n_in
    inputs are present and that no activation is empty (but the inputs at positions `unread`, which
    the op never reads)."""
    ins = graph.op_inputs(op)
    outs = graph.op_outputs(op)
    if n_in is not None and len(ins) < n_in:
        raise unsupported(graph, op, f"expects {n_in} inputs, has {len(ins)}", "the file is corrupt")
    missing = [i for i, t in enumerate(ins[:n_in or 0]) if t is None]
    if missing:
        raise unsupported(graph, op, f"input {missing[0]} is missing (-1)", "the file is corrupt")
    if len(outs) != n_out:
        raise unsupported(graph, op, f"expects {n_out} output(s), has {len(outs)}", "the file is corrupt")
    for t in (*(t for k, t in enumerate(ins) if k not in unread), *outs):
        if t is not None and not t.is_const and t.numel == 0:
            raise unsupported(graph, op, f"tensor {t.index} ({t.name}) is empty (shape {list(t.shape)})",
                              "tinyq's kernels need at least one element")
    return ins, outs


def require_shifts(graph: Graph, op: Operator, shifts, what: str = "requantization") -> None:
    """Every multiplier's shift within what the kernels (and TFLM's defined behaviour) allow."""
    worst = max((int(s) for s in shifts), default=0)
    if worst > MAX_LEFT_SHIFT:
        raise unsupported(graph, op, f"the {what} multiplier is 2^{worst - 1} or more: the scales are "
                                     f"implausible, and TFLM would shift an int32 left by {worst} bits, which C "
                                     "leaves undefined", "re-quantize the model; real scale ratios are far smaller")


# A uint8 model (TF1's quantization: Coral's and TF's hosted *_quant.tflite) is already quantized, so tinyq
# quantize refuses it: the way out is the float model it came from.
UINT8_HINT = "TFLM has no uint8 kernels either (TF1's quantization): quantize the float model to int8, tinyq quantize"


def require_int8(graph: Graph, op: Operator, *tensors: Tensor | None, what: str = "tensor") -> None:
    """Activations must be int8 with quantization parameters (per channel: read at the first ones)."""
    for t in tensors:
        if t is None:
            continue
        if t.dtype != "int8":
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) is {t.dtype}; only int8 is supported",
                              UINT8_HINT if t.dtype == "uint8" else "quantize the model to int8 first (tinyq quantize)")
        if t.quant is None:
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) has no quantization parameters",
                              "quantize the model to int8 first (tinyq quantize)")
        # a tensor quantized per channel is read at its first scale and zero point, as TFLM reads it (the
        # per-tensor params its allocator always fills from element 0): kernels use Quant.s and Quant.zp


# what a user can do about an operand the model computes while it runs
CONST_HINT = "re-export with it constant (Keras RNN layers: unroll=True); tinyq sizes every tensor before the run"


def require_const(graph: Graph, op: Operator, t: Tensor | None, role: str) -> Tensor:
    if t is None or not t.is_const:
        raise unsupported(graph, op, f"{role} must be a constant tensor", CONST_HINT)
    return t


def fused_range(graph: Graph, op: Operator, activation: str, out: Tensor) -> tuple[int, int]:
    """The fused activation as a clamp on the output's integer type (int8, or int16 in 16x8 models)."""
    if activation not in ACTIVATIONS_WITH_RANGE:
        raise unsupported(graph, op, f"fused activation {activation} is not supported for {out.dtype}",
                          "use NONE, RELU, RELU6 or RELU_N1_TO_1")
    qmin, qmax = INT_RANGES.get(out.dtype, INT_RANGES["int8"])
    bounds = qmath.activation_range(activation, out.quant.s, out.quant.zp, qmin, qmax)
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


# --- 16x8 models: int16 activations, int8 weights, int64 (or int32) biases ---

# activation dtype -> suffix of the kernel that reads it (conv_2d -> conv_2d_s16), as int4.KERNEL_SUFFIX
# names the weights' type: each backend declares exactly which activation types it runs
ACTIVATION_SUFFIX = {"int8": "", "int16": "_s16"}


def require_int8_or_int16(graph: Graph, op: Operator, *tensors: Tensor | None, what: str = "tensor") -> str:
    """Activations per-tensor quantized and all int8, or all int16 (a 16x8 model); returns that dtype.
    int8 tensors get exactly require_int8's checks and messages."""
    present = [t for t in tensors if t is not None]
    dtype = present[0].dtype if present else "int8"
    if dtype != "int16":
        require_int8(graph, op, *present, what=what)
        return "int8"
    for t in present:
        if t.dtype != "int16":
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) is {t.dtype} beside int16 activations",
                              "TFLM's 16x8 kernels take int16 activations throughout; requantize with QUANTIZE")
        if t.quant is None:
            raise unsupported(graph, op, f"{what} {t.index} ({t.name}) has no quantization parameters",
                              "quantize the model (16x8) first")
        # per channel: read at its first scale and zero point, as in require_int8
    return "int16"


def require_zero_point_0(graph: Graph, op: Operator, *tensors: Tensor | None, why: str = "TFLM's int16 kernel") -> None:
    """int16 tensors whose zero point TFLM's Prepare requires to be 0."""
    for t in tensors:
        if t is not None and t.quant is not None and t.quant.zp != 0:
            raise unsupported(graph, op, f"int16 tensor {t.index} ({t.name}) has zero point {t.quant.zp}; "
                                         f"{why} requires 0", "16x8 models quantize activations symmetrically")


def bias_array_s16(graph: Graph, op: Operator, bias: Tensor | None, channels: int,
                   dtypes: tuple[str, ...] = ("int64", "int32")) -> ConstArray | None:
    """A 16x8 op's bias in flash, in its own type: int64 (TFLM's 64-bit accumulator) or, where the
    kernel takes it, int32 (TFLM then accumulates in 32 bits)."""
    if bias is None:
        return None
    require_const(graph, op, bias, "bias")
    if bias.dtype not in dtypes:
        raise unsupported(graph, op, f"bias is {bias.dtype}; with int16 activations TFLM takes "
                                     f"{' or '.join(dtypes)} here", "16x8 models carry int64 biases; re-export it")
    if bias.numel != channels:
        raise unsupported(graph, op, f"bias has {bias.numel} values for {channels} channels",
                          "the model's shapes are inconsistent; re-export it")
    values = np.asarray(bias.data, dtype=bias.dtype).reshape(-1)
    if bias.dtype == "int64" and np.abs(values.astype(np.float64)).max(initial=0) >= 2.0**47:
        raise unsupported(graph, op, "an int64 bias reaches 2^47: TFLM's 64-bit requantization takes sums below "
                                     "2^47 (its product is undefined past it)", "the bias scale is implausible; "
                                     "re-quantize the model")
    return ConstArray("bias", bias.dtype + "_t", values)
