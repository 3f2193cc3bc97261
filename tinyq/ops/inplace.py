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

  Optimized libraries read in other orders, each a variant of the same proof
  (`window_shift`'s `lookahead`):

  - blocks of up to L pixels whose windows are read together while their outputs
    are written (a GEMM over L rows: each output channel re-reads the L windows):
    the writes of pixel q may come before the reads of pixels q-L+1..q are done,
        shift = max over q of (min(q + L, P) * out_pixel_bytes - lowest_read(q..end));
  - every window of a block copied out (im2col) before any of its outputs is
    written (lookahead 0): the writes of pixel q only have to stay below the
    reads of the pixels after it,
        shift = max over q of ((q + 1) * out_pixel_bytes - lowest_read(q+1..end)).

  Both hold whatever the block boundaries are, so one rule covers a kernel whose
  blocks restart at each batch or row. Fully connected layers are the same over
  rows (`rows_shift`). A kernel that reads some input again after a later part
  of the output was written (a channel-block loop outside the pixel loops, a GEMM
  whose outer loop runs over output channels) has no rule: no shift short of the
  whole output allows it.
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
                 dilation_hw: tuple[int, int] = (1, 1), item: int = 1, per_channel: bool = False,
                 lookahead: int = 1) -> int:
    """Least shift (bytes) for a raster-order sliding-window kernel (see the module doc).

    per_channel: the kernel reads only channel c of the window before writing output
    channel c (depthwise with multiplier 1, pooling), so the write of (q, c) only has
    to stay below the reads still to come: channels above c of pixel q's window, and
    every channel of the later pixels' windows.
    lookahead: how many pixels' writes may come before pixel q's reads are done (1: each
    pixel's own; L: GEMM blocks of up to L pixels; 0: windows copied out before any write).
    """
    (h, w, c), (oh, ow, oc) = in_hwc, out_hwc
    iy, vy = _first_tap(np.arange(oh) * stride_hw[0] - pad_hw[0], dilation_hw[0], h, filter_hw[0])
    ix, vx = _first_tap(np.arange(ow) * stride_hw[1] - pad_hw[1], dilation_hw[1], w, filter_hw[1])
    big = np.iinfo(np.int64).max // 2
    per_image = np.where(vy[:, None] & vx[None, :], (iy[:, None] * w + ix[None, :]) * c, big).reshape(-1)
    lows = np.concatenate([np.where(per_image == big, big, per_image + b * h * w * c) for b in range(batches)])
    if lows.size == 0:
        return 0
    lows = np.where(lows == big, big, lows * item)  # lowest input byte each output pixel reads
    later = np.append(np.minimum.accumulate(lows[::-1])[::-1], big)  # later[q]: lowest read by pixels >= q
    return _least_shift(lows, later, oc * item, per_channel, lookahead)


def _least_shift(lows: np.ndarray, later: np.ndarray, out_bytes: int, per_channel: bool, lookahead: int) -> int:
    """The formulas of the module doc over P units (pixels or rows) of `out_bytes` output each."""
    count = lows.size
    big = np.iinfo(np.int64).max // 2
    pixel_end = np.arange(1, count + 1, dtype=np.int64) * out_bytes
    if per_channel:
        start = pixel_end - out_bytes
        need = np.maximum(np.where(lows == big, 0, start - lows), pixel_end - later[1:])
    else:
        written = np.minimum(np.arange(count, dtype=np.int64) + lookahead, count) * out_bytes
        need = np.where(later[:-1] == big, 0, written - later[:-1])
    return max(int(need.max()), 0)


def rows_shift(k: Lowered, graph: Graph, i: int, lookahead: int = 1) -> int | None:
    """Shift for a fully connected kernel over `batches` rows: each output row is written while its
    input row is read again per output value (blocks of `lookahead` rows read together)."""
    rows = getattr(k.params, "batches", None)
    if i != 0 or len(k.outputs) != 1 or not rows:
        return None
    x, y = graph.tensors[k.inputs[0]], graph.tensors[k.outputs[0]]
    in_row, out_row = x.nbytes // rows, y.nbytes // rows
    lows = np.arange(rows, dtype=np.int64) * in_row
    later = np.append(lows, np.iinfo(np.int64).max // 2)
    return _least_shift(lows, later, out_row, False, lookahead)


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


def sliding_window(k: Lowered, graph: Graph, i: int, lookahead: int = 1) -> int | None:
    """Shift for NHWC windowed kernels whose params carry the Window2D fields."""
    args = _window_args(k, graph, i)
    return None if args is None else window_shift(**args, lookahead=lookahead)


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


def window_after_copy(k: Lowered, graph: Graph, i: int) -> int | None:
    """Shift for kernels that copy each block of windows out of the input before writing."""
    return sliding_window(k, graph, i, lookahead=0)


def gemm_window(block: int, why: str) -> InPlace:
    """The rule of a kernel that reads the windows of up to `block` pixels together while it writes
    their outputs channel by channel (a GEMM over the block's rows), blocks in raster order."""
    return InPlace(lambda k, graph, i: sliding_window(k, graph, i, lookahead=block), why)


def gemm_rows(block: int, why: str) -> InPlace:
    """The same for a fully connected kernel over its rows."""
    return InPlace(lambda k, graph, i: rows_shift(k, graph, i, lookahead=block), why)
