"""QUANTIZE (float32 -> int8/int16, or requantize between integer types) and DEQUANTIZE (-> float32).

These sit at a model's float edges: with them the generated invoke takes and
returns float buffers. Float -> int rounds in float32 as TFLM's AffineQuantize
does (tq_quantize.c, no libm); integer -> integer uses TFLM's Requantize with a
multiplier computed here. Inputs outside int32 after division (and NaN) give
what TFLM's golden build gives on x86: INT32_MIN plus the zero point, wrapped,
then clamped (so +inf becomes -128 when the zero point is >= 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq import qmath
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.inplace import ELEMENTWISE
from tinyq.ops.common import io, require_shifts

TYPE_CODES = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "float32": "f32"}
QUANTIZE_FLOAT_TO = ("int8", "int16")
# (input, output) pairs TFLM's QUANTIZE requantizes (PrepareQuantizeReference)
REQUANTIZE_PAIRS = {("int8", "int8"), ("int8", "uint8"), ("int8", "int16"), ("int8", "int32"),
                    ("uint8", "int8"), ("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
                    ("int32", "int8"), ("int32", "int16")}
DEQUANTIZE_FROM = ("int8", "uint8", "int16")


@dataclass(frozen=True)
class QuantizeParams:
    size: int
    scale: float  # the output's float32 scale
    zero_point: int
    output_type: str


@dataclass(frozen=True)
class RequantizeParams:
    size: int
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    input_type: str
    output_type: str


@dataclass(frozen=True)
class DequantizeParams:
    size: int
    scale: float  # the input's float32 scale
    zero_point: int
    input_type: str


def _unary(graph: Graph, op: Operator) -> tuple[Tensor, Tensor]:
    (x, *_), (y,) = io(graph, op, 1)
    if x is None or x.is_const:
        raise unsupported(graph, op, "the input is a constant", "tinyq converts activations only")
    if x.numel != y.numel:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size",
                          "the model's shapes are inconsistent; re-export it")
    return x, y


def _per_tensor(graph: Graph, op: Operator, t: Tensor, role: str, first_channel: bool = False) -> None:
    """`first_channel`: a per-channel tensor is read at its first scale and zero point, as TFLM reads a
    requantizing QUANTIZE's input (its Prepare checks only the output's scale count)."""
    if t.quant is None:
        raise unsupported(graph, op, f"the {role} {t.index} ({t.name}) has no quantization parameters",
                          "a (de)quantize needs the integer side's scale and zero point")
    if t.quant.per_channel and not first_channel:
        raise unsupported(graph, op, f"the {role} {t.index} ({t.name}) is quantized per channel",
                          "TFLM's QUANTIZE/DEQUANTIZE take one scale")


def lower_quantize(graph: Graph, op: Operator) -> Lowered:
    x, y = _unary(graph, op)
    _per_tensor(graph, op, y, "output")
    if x.dtype == "float32":
        if y.dtype not in QUANTIZE_FLOAT_TO:
            raise unsupported(graph, op, f"float32 -> {y.dtype} is not supported", "TFLM quantizes to int8/int16")
        params = QuantizeParams(size=x.numel, scale=qmath.f32(y.quant.s), zero_point=y.quant.zp,
                                output_type=TYPE_CODES[y.dtype])
        return Lowered(op=op, kernel="quantize", params=params, inputs=(x.index,), outputs=(y.index,))
    if (x.dtype, y.dtype) not in REQUANTIZE_PAIRS:
        raise unsupported(graph, op, f"{x.dtype} -> {y.dtype} is not supported",
                          "TFLM requantizes " + ", ".join(f"{a}->{b}" for a, b in sorted(REQUANTIZE_PAIRS)))
    _per_tensor(graph, op, x, "input", first_channel=True)
    multiplier, shift = qmath.requantize_rescale(x.quant.s, y.quant.s)
    require_shifts(graph, op, [shift])
    params = RequantizeParams(size=x.numel, input_zero_point=x.quant.zp, output_zero_point=y.quant.zp,
                              multiplier=multiplier, shift=shift, input_type=TYPE_CODES[x.dtype],
                              output_type=TYPE_CODES[y.dtype])
    return Lowered(op=op, kernel="requantize", params=params, inputs=(x.index,), outputs=(y.index,))


def lower_dequantize(graph: Graph, op: Operator) -> Lowered:
    (x, *_), _ = io(graph, op, 1)
    if x is not None and x.quant is not None and x.quant.per_channel:
        # TFLM's Prepare keeps the tensor's first scale and zero point (the legacy per-tensor params) and
        # applies them to every channel: a weight-only quantized model's other channels come out wrong
        raise unsupported(graph, op, f"the input {x.index} ({x.name}) is quantized per channel; TFLM's DEQUANTIZE "
                                     "applies channel 0's scale and zero point to every channel",
                          "quantize the float model instead (tinyq quantize), or its weights per tensor")
    x, y = _unary(graph, op)
    if y.dtype != "float32" or x.dtype not in DEQUANTIZE_FROM:
        raise unsupported(graph, op, f"{x.dtype} -> {y.dtype} is not supported",
                          "TFLM dequantizes int8, uint8 and int16 to float32")
    _per_tensor(graph, op, x, "input")
    params = DequantizeParams(size=x.numel, scale=qmath.f32(x.quant.s), zero_point=x.quant.zp,
                              input_type=TYPE_CODES[x.dtype])
    return Lowered(op=op, kernel="dequantize", params=params, inputs=(x.index,), outputs=(y.index,))


SPECS = [
    OpSpec(name="quantize", builtin="QUANTIZE", lower=lower_quantize,
           kernels=(reference_kernel("quantize", inplace=ELEMENTWISE), reference_kernel("requantize", inplace=ELEMENTWISE)),
           doc="float32 -> int8/int16 (TFLM's rounding, no libm); requantize between int8/uint8/int16/int32"),
    OpSpec(name="dequantize", builtin="DEQUANTIZE", lower=lower_dequantize,
           kernels=(reference_kernel("dequantize"),),
           doc="int8/uint8/int16 -> float32, bit-exact float math"),
]
