"""Which kernels may write their output over an input that dies at them, and how.

This is knowledge about a kernel's *memory access order*, so each `Kernel` carries
its own rule (`Kernel.inplace`), declared where the kernel is (its op module for
the reference kernels, its backend layer for the others) after its C loop order was
read. A kernel without one never writes over its input. Bit-exact tests with the
aliasing cover each.

Two patterns cover the kernels tinyq has:

* element-wise: output element i is written after input element i is read, and
  input element i is never read again. The output may take the input's bytes
  exactly (shift 0) when both have the same shape and element size.
* sliding window (convolution, depthwise, pooling, NHWC, batch-major raster
  order): output pixel q's channels are written together, after some of the
  reads of pixel q's window and before any read for pixel q+1. The output may
  start `shift` bytes *before* the input, where shift is the least value such
  that every byte written for pixel q lies below every input byte that pixel q
  or a later pixel reads:

      shift = max over q of ((q + 1) * out_pixel_bytes - lowest_read(q..end))

  A 3x3 stride-1 SAME convolution over W columns of C channels needs
  shift = (W + 2) * C: the pair costs in + (W + 2) * C bytes instead of in + out.
"""

from __future__ import annotations

import numpy as np

from tinyq.ir import DTYPES, Graph
from tinyq.ops.base import InPlace, Lowered
from tinyq.ops.geometry import Window2D


def _item(dtype: str) -> int:
    return DTYPES[dtype][1]


def elementwise(k: Lowered, graph: Graph, i: int) -> int | None:
    """Shift 0 when the input has the output's shape and element size (no broadcast)."""
    if len(k.outputs) != 1:
        return None
    x, y = graph.tensors[k.inputs[i]], graph.tensors[k.outputs[0]]
    if _item(x.dtype) != _item(y.dtype) or tuple(x.shape) != tuple(y.shape):
        return None
    return 0


def _first_tap(origin: np.ndarray, dilation: int, size: int, taps: int) -> tuple[np.ndarray, np.ndarray]:
    """Lowest valid input coordinate of each window, and whether the window has any valid tap."""
    begin = np.where(origin >= 0, 0, (-origin + dilation - 1) // dilation)
    room = size - origin
    end = np.where(room <= 0, 0, np.minimum((room + dilation - 1) // dilation, taps))
    return origin + begin * dilation, begin < end


def window_shift(batches: int, in_hwc: tuple[int, int, int], out_hwc: tuple[int, int, int],
                 filter_hw: tuple[int, int], stride_hw: tuple[int, int], pad_hw: tuple[int, int],
                 dilation_hw: tuple[int, int] = (1, 1), item: int = 1, per_channel: bool = False) -> int:
    """Least shift (bytes) for a raster-order sliding-window kernel (see the module doc).

    per_channel: the kernel reads only channel c of the window before writing output
    channel c (depthwise with multiplier 1, pooling), so the write of (q, c) only has
    to stay below the reads still to come: channels above c of pixel q's window, and
    every channel of the later pixels' windows.
    """
    (h, w, c), (oh, ow, oc) = in_hwc, out_hwc
    iy, vy = _first_tap(np.arange(oh) * stride_hw[0] - pad_hw[0], dilation_hw[0], h, filter_hw[0])
    ix, vx = _first_tap(np.arange(ow) * stride_hw[1] - pad_hw[1], dilation_hw[1], w, filter_hw[1])
    big = np.iinfo(np.int64).max // 2
    per_image = np.where(vy[:, None] & vx[None, :], (iy[:, None] * w + ix[None, :]) * c, big).reshape(-1)
    lows = np.concatenate([np.where(per_image == big, big, per_image + b * h * w * c) for b in range(batches)])
    if lows.size == 0:
        return 0
    lows = lows * item  # lowest input byte each output pixel reads
    later = np.append(np.minimum.accumulate(lows[::-1])[::-1], big)  # later[q]: lowest read by pixels >= q
    pixel_end = np.arange(1, lows.size + 1, dtype=np.int64) * oc * item
    if per_channel:
        start = pixel_end - oc * item
        need = np.maximum(np.where(lows == big, 0, start - lows), pixel_end - later[1:])
    else:
        need = pixel_end - later[:-1]
    return max(int(need.max()), 0)


def _window_args(k: Lowered, graph: Graph, i: int):
    p = k.params
    if i != 0 or len(k.outputs) != 1 or not isinstance(p, Window2D):
        return None
    x, y = graph.tensors[k.inputs[0]], graph.tensors[k.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != y.shape[0] or _item(x.dtype) != _item(y.dtype):
        return None
    return dict(batches=x.shape[0], in_hwc=tuple(x.shape[1:]), out_hwc=tuple(y.shape[1:]),
                filter_hw=(p.filter_h, p.filter_w), stride_hw=(p.stride_h, p.stride_w), pad_hw=(p.pad_h, p.pad_w),
                dilation_hw=(p.dilation_h, p.dilation_w), item=_item(x.dtype))


def sliding_window(k: Lowered, graph: Graph, i: int) -> int | None:
    """Shift for NHWC windowed kernels whose params carry the Window2D fields."""
    args = _window_args(k, graph, i)
    return None if args is None else window_shift(**args)


def channel_window(k: Lowered, graph: Graph, i: int) -> int | None:
    """Shift for windowed kernels that compute output channel c from input channel c only."""
    args = _window_args(k, graph, i)
    if args is None:
        return None
    return window_shift(**args, per_channel=args["in_hwc"][2] == args["out_hwc"][2])


_ELEMENTWISE = "reads input element i, then writes output element i, never reads element i again"
_ROWWISE = ("reads a whole row (max, sum of exps) before writing it, then reads element i just before "
            "writing element i")
_WINDOW = ("loops batch, out_y, out_x outermost and writes each output pixel's channels (*output++) "
           "before reading the next pixel's window")
_CHANNEL_WINDOW = _WINDOW + ("; output channel c is written right after the window's channel c is read "
                             "(when output and input have the same depth)")

ELEMENTWISE = InPlace(elementwise, _ELEMENTWISE)
ROWWISE = InPlace(elementwise, _ROWWISE)
WINDOW = InPlace(sliding_window, _WINDOW)
CHANNEL_WINDOW = InPlace(channel_window, _CHANNEL_WINDOW)
