"""PAD and PADV2 on int8, int16 and float32, up to 5-D: constant padding with the output zero point
(int16: 0; float32: 0.0) or the given value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops import f32
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io, require_const, require_int8

MAX_RANK = 5  # reference_ops::PadKernelMaxDimensionCount


@dataclass(frozen=True)
class PadOptions:
    pass


@dataclass(frozen=True)
class PadV2Options:
    pass


@dataclass(frozen=True)
class PadParams:
    in_dims: tuple[int, ...]  # extended to 5-D with leading 1s
    out_dims: tuple[int, ...]
    before: tuple[int, ...]
    pad_value: int | float  # used unless runtime_value (float32 tensors: a float)
    runtime_value: bool  # PADV2's value is a computed tensor, read when the op runs


def _paddings(graph: Graph, op: Operator, p: Tensor | None, x: Tensor, y: Tensor) -> np.ndarray:
    """The (rank, 2) before/after table, checked against the shapes as PadPrepare does."""
    require_const(graph, op, p, "paddings")
    # TFLM reads the paddings as int32 whatever their type; int64 values are taken for
    # what they mean, which is what TFLite (and a correct TFLM) computes.
    if p.dtype not in ("int32", "int64"):
        raise unsupported(graph, op, f"paddings are {p.dtype}; they must be int32 or int64", "as TFLite writes them")
    rank = len(y.shape)
    if p.numel != 2 * rank or len(x.shape) != rank:
        raise unsupported(graph, op, f"paddings {list(p.shape)} do not fit input {list(x.shape)} / "
                                     f"output {list(y.shape)}", "there must be a (before, after) pair per dimension")
    table = np.asarray(p.data, dtype=np.int64).reshape(rank, 2)
    if (table < 0).any():
        raise unsupported(graph, op, f"negative paddings {table.tolist()} are not supported", "TFLM refuses them too")
    expected = [int(d + lo + hi) for d, (lo, hi) in zip(x.shape, table)]
    if expected != list(y.shape):
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} padded by "
                                     f"{table.tolist()} (expected {expected})",
                          "the model's shapes are inconsistent; re-export it")
    return table


def _pad_value(graph: Graph, op: Operator, c: Tensor | None, y: Tensor) -> tuple[int, bool]:
    """PAD pads with the output zero point (quantized 0); PADV2 with its scalar, quantized like the output."""
    if c is None:
        return y.quant.zp, False
    if c.dtype != y.dtype or c.numel != 1:
        raise unsupported(graph, op, f"constant value must be one {y.dtype}, is {c.dtype}{list(c.shape)}",
                          "PADV2 pads with a scalar of the output's type")
    if c.quant is None or c.quant.zp != y.quant.zp or np.float32(c.quant.s) != np.float32(y.quant.s):
        raise unsupported(graph, op, "constant value must be quantized like the output",
                          "TFLM requires equal scale and zero point")
    if not c.is_const:
        return 0, True
    return int(np.asarray(c.data).reshape(-1)[0]), False


def _pad_value_s16(graph: Graph, op: Operator, c: Tensor | None) -> tuple[int, bool]:
    """TFLM's int16 PAD pads with 0 whatever the zero point; PADV2 with its int16 scalar, unchecked."""
    if c is None:
        return 0, False
    if c.dtype != "int16" or c.numel != 1:
        raise unsupported(graph, op, f"constant value must be one int16, is {c.dtype}{list(c.shape)}",
                          "PADV2 pads with a scalar of the output's type")
    if not c.is_const:
        return 0, True
    return int(np.asarray(c.data).reshape(-1)[0]), False


def _pad_value_f32(graph: Graph, op: Operator, c: Tensor | None) -> tuple[float, bool]:
    """TFLM's float PAD pads with 0.0f; PADV2 with its float scalar."""
    if c is None:
        return 0.0, False
    if c.dtype != "float32" or c.numel != 1:
        raise unsupported(graph, op, f"constant value must be one float32, is {c.dtype}{list(c.shape)}",
                          "PADV2 pads with a scalar of the output's type")
    if not c.is_const:
        return 0.0, True
    return float(np.asarray(c.data, dtype=np.float32).reshape(-1)[0]), False


def lower(graph: Graph, op: Operator) -> Lowered:
    (x, p, *rest), (y,) = io(graph, op, 2)
    c = rest[0] if rest else None
    if f32.is_float(x):
        f32.require_float32(graph, op, x, y)
        return _lowered(graph, op, x, p, y, c, "pad_f32", *_pad_value_f32(graph, op, c))
    int16 = x.dtype == "int16" and y.dtype == "int16"
    if not int16 and (x.dtype != "int8" or y.dtype != "int8"):
        raise unsupported(graph, op, f"{x.dtype} -> {y.dtype} padding is not supported; only int8 or int16",
                          "quantize the model to int8 first")
    if not int16:
        require_int8(graph, op, y)
    if len(y.shape) > MAX_RANK:  # before the pad value's checks, as always
        raise unsupported(graph, op, f"{len(y.shape)}-D tensors are not supported (at most {MAX_RANK}-D, as TFLM)",
                          "reshape to fewer dimensions")
    pad_value, runtime_value = _pad_value_s16(graph, op, c) if int16 else _pad_value(graph, op, c, y)
    return _lowered(graph, op, x, p, y, c, "pad_s16" if int16 else "pad", pad_value, runtime_value)


def _lowered(graph: Graph, op: Operator, x: Tensor, p: Tensor, y: Tensor, c: Tensor | None, kernel: str,
             pad_value, runtime_value: bool) -> Lowered:
    if len(y.shape) > MAX_RANK:
        raise unsupported(graph, op, f"{len(y.shape)}-D tensors are not supported (at most {MAX_RANK}-D, as TFLM)",
                          "reshape to fewer dimensions")
    table = _paddings(graph, op, p, x, y)
    lead = MAX_RANK - len(y.shape)
    params = PadParams(in_dims=(1,) * lead + tuple(x.shape), out_dims=(1,) * lead + tuple(y.shape),
                       before=(0,) * lead + tuple(int(v) for v in table[:, 0]), pad_value=pad_value,
                       runtime_value=runtime_value)
    inputs = (x.index, c.index) if runtime_value else (x.index,)
    return Lowered(op=op, kernel=kernel, params=params, inputs=inputs, outputs=(y.index,))


PAD = reference_kernel("pad")
PAD_S16 = reference_kernel("pad_s16")
PAD_F32 = reference_kernel("pad_f32")

SPECS = [
    OpSpec(name="pad", builtin="PAD", options=PadOptions, fb_options="PadOptions", lower=lower,
           kernels=(PAD, PAD_S16, PAD_F32), quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
           doc="int8, int16 and float32 up to 5-D, constant int32/int64 paddings, padded with the output zero point "
               "(int16: 0, float32: 0.0, as TFLM)"),
    OpSpec(name="padv2", builtin="PADV2", options=PadV2Options, fb_options="PadV2Options", lower=lower,
           kernels=(PAD, PAD_S16, PAD_F32),
           # PyTorch's padded max pool pads with -inf: the value saturates to the data's lowest level
           quant=QuantRule(2, inputs_as_output=True, activation_inputs=(0, 2), constants_saturate=True),
           doc="int8, int16 and float32 up to 5-D, constant int32/int64 paddings, padded with the given value"),
]
