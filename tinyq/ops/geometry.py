"""Sliding-window geometry shared by convolutions and pooling.

Output size and leading padding exactly as TFLM's `ComputePaddingHeightWidth`
(tensorflow/lite/kernels/padding.h) computes them: SAME pads
`max(0, (out - 1) * stride + effective_filter - in)` in total and puts the
smaller half (rounded down) before the data; the odd pixel, if any, goes after,
where the kernels' bounds checks skip it. VALID pads nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import unsupported

PADDINGS = ("SAME", "VALID")


def effective_filter_size(filter_size: int, dilation: int) -> int:
    return (filter_size - 1) * dilation + 1


def output_size(padding: str, in_size: int, filter_size: int, stride: int, dilation: int = 1) -> int:
    """TFLite's ComputeOutSize (may be <= 0 when a VALID filter is larger than the input)."""
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size + stride - effective_filter_size(filter_size, dilation)) // stride


def padding_before(stride: int, dilation: int, in_size: int, filter_size: int, out_size: int) -> int:
    """TFLite's ComputePaddingWithOffset: the padding before the first input pixel."""
    total = (out_size - 1) * stride + effective_filter_size(filter_size, dilation) - in_size
    return max(total, 0) // 2


@dataclass(frozen=True)
class Window2D:
    """Where a 2-D window slides: NHWC input and output extents plus its padding.

    The one declaration of these fields: the windowed ops' parameters extend it, and the
    backends and the planner read any of them as a Window2D."""

    batches: int
    in_h: int
    in_w: int
    in_d: int
    out_h: int
    out_w: int
    out_d: int
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    pad_h: int
    pad_w: int


@dataclass(frozen=True)
class ConvWindow(Window2D):
    """A convolution's window with its filter depth (in_d / groups; out_d for a depthwise
    convolution seen as a grouped one): what the library kernels' rules take."""

    filter_d: int


def window_fields(win: Window2D) -> dict:
    """The Window2D fields of `win`, to build a parameter block that extends it."""
    return {f.name: getattr(win, f.name) for f in dataclasses.fields(Window2D)}


def require_4d(graph: Graph, op: Operator, *tensors: Tensor, role: str = "tensor") -> None:
    for t in tensors:
        if len(t.shape) != 4:
            raise unsupported(graph, op, f"{role} {t.index} ({t.name}) has shape {list(t.shape)}; "
                                         "it must be 4-D (NHWC)", "as the TFLite converter writes it")


def window_2d(graph: Graph, op: Operator, x: Tensor, y: Tensor, *, filter_hw: tuple[int, int],
              stride_hw: tuple[int, int], dilation_hw: tuple[int, int] = (1, 1),
              padding: str = "SAME") -> Window2D:
    """Check a windowed op's NHWC shapes and options, and compute its padding.

    TFLM loops over the output tensor's own extents; a model whose output extents
    disagree with its options is inconsistent, so it is refused here rather than
    reproduced.
    """
    require_4d(graph, op, x, y)
    if padding not in PADDINGS:
        raise unsupported(graph, op, f"padding {padding} is not supported", "use SAME or VALID")
    for name, values in (("filter size", filter_hw), ("stride", stride_hw), ("dilation", dilation_hw)):
        if min(values) <= 0:
            raise unsupported(graph, op, f"{name} {values[0]}x{values[1]} must be positive",
                              "the model's options are corrupt")
    if x.shape[0] != y.shape[0]:
        raise unsupported(graph, op, f"input batch {x.shape[0]} and output batch {y.shape[0]} differ",
                          "the model's shapes are inconsistent; re-export it")
    (fh, fw), (sh, sw), (dh, dw) = filter_hw, stride_hw, dilation_hw
    in_h, in_w = x.shape[1], x.shape[2]
    out_h = output_size(padding, in_h, fh, sh, dh)
    out_w = output_size(padding, in_w, fw, sw, dw)
    if (out_h, out_w) != tuple(y.shape[1:3]):
        raise unsupported(graph, op, f"output {list(y.shape)} does not match input {list(x.shape)} with a "
                                     f"{fh}x{fw} window, stride {sh}x{sw}, dilation {dh}x{dw}, {padding} "
                                     f"padding (expected {out_h}x{out_w})",
                          "the model's shapes are inconsistent; re-export it")
    return Window2D(batches=x.shape[0], in_h=in_h, in_w=in_w, in_d=x.shape[3], out_h=out_h, out_w=out_w,
                    out_d=y.shape[3], filter_h=fh, filter_w=fw, stride_h=sh, stride_w=sw, dilation_h=dh,
                    dilation_w=dw, pad_h=padding_before(sh, dh, in_h, fh, out_h),
                    pad_w=padding_before(sw, dw, in_w, fw, out_w))
