"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND: 3-D (NHC) or 4-D (NHWC) int8/float32 tensors,
constant int32 block shape and paddings/crops.

Pure data movement: each output pixel's channels are one run of an input pixel's (or
padding), so both lower to the remap copy (tinyq/ops/remap.py) with tables computed here
from TFLM's loops (reference_ops::SpaceToBatchND / BatchToSpaceND).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import DTYPES, Graph, Operator, Tensor
from tinyq.ops import remap
from tinyq.ops.base import Lowered, OpSpec, QuantRule, unsupported
from tinyq.ops.common import io, require_const

DTYPES_SUPPORTED = ("int8", "float32")  # TFLM's kernels take these


@dataclass(frozen=True)
class SpaceToBatchNDOptions:
    pass


@dataclass(frozen=True)
class BatchToSpaceNDOptions:
    pass


SHAPES_HINT = "the model's shapes are inconsistent; re-export it"
# TFLM's kernels of these trust the declared output shape: where it is off they compute part of the output
# and leave the rest unwritten, so a TFLM run of the file is no reference until tinyq's lowering accepts it
TFLM_TRUSTS_DECLARED_SHAPE = ("space_to_batch_nd", "batch_to_space_nd")


def _mismatch(expected: tuple[int, ...], actual: tuple[int, ...]) -> tuple[str, str]:
    """(what to add to the refusal, its hint). A dilated convolution exported with an unknown batch size
    (Keras Input without batch_size) stores batch 1 where the blocks make more: TFLM then fills one
    block and leaves the rest of the output unwritten."""
    if tuple(expected) != tuple(actual):
        return "", SHAPES_HINT
    return ("; only the batch size is off, as after an export with an unknown batch size (TFLM would fill "
            "one block only)", "re-export with a fixed batch size, e.g. keras.Input(shape, batch_size=1)")


def _nhwc(shape) -> tuple[int, int, int, int]:
    """TFLM's ExtendShapeSpaceToBatch: NHC -> NH1C."""
    return tuple(shape) if len(shape) == 4 else (shape[0], shape[1], 1, shape[2])


def _operands(graph: Graph, op: Operator, role: str):
    """(x, y, block (h, w), table (top, bottom, left, right)), checked as TFLM's Prepare and Eval read them."""
    (x, block, table, *_), (y,) = io(graph, op, 3)
    rank = len(x.shape)
    if not 3 <= rank <= 4 or len(y.shape) != rank:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)}: TFLM takes 3-D or 4-D "
                                     "tensors of equal rank", "reshape to 4-D NHWC around the op")
    if x.dtype != y.dtype or x.dtype not in DTYPES_SUPPORTED:
        raise unsupported(graph, op, f"{x.dtype} -> {y.dtype}: TFLM's kernel takes int8 or float32, the same "
                                     "on both sides",
                          "quantize the model to int8 (tinyq quantize) or convert the tensors")
    spatial = rank - 2
    for t, name, count in ((block, "block_shape", spatial), (table, role, 2 * spatial)):
        require_const(graph, op, t, name)
        # TFLM reads both as int32 whatever their type: int64 operands would be misread
        if t.dtype != "int32" or t.numel < count:
            raise unsupported(graph, op, f"{name} is {t.dtype}{list(t.shape)}; TFLM reads {count} int32 values",
                              "as TFLite writes them")
    b = np.asarray(block.data, dtype=np.int64).reshape(-1)
    p = np.asarray(table.data, dtype=np.int64).reshape(-1)
    bh, bw = int(b[0]), int(b[1]) if rank == 4 else 1
    top, bottom = int(p[0]), int(p[1])
    left, right = (int(p[2]), int(p[3])) if rank == 4 else (0, 0)
    if bh < 1 or bw < 1:
        raise unsupported(graph, op, f"block_shape {b[:spatial].tolist()} must be positive", SHAPES_HINT)
    if min(top, bottom, left, right) < 0:
        raise unsupported(graph, op, f"{role} {p[:2 * spatial].tolist()} must not be negative", "pad with PAD first")
    return x, y, (bh, bw), (top, bottom, left, right)


def lower_space_to_batch(graph: Graph, op: Operator) -> Lowered:
    x, y, (bh, bw), (top, bottom, left, right) = _operands(graph, op, "paddings")
    ib, ih, iw, depth = _nhwc(x.shape)
    ob, oh, ow, od = _nhwc(y.shape)
    expected = (ib * bh * bw, (ih + top + bottom) // bh, (iw + left + right) // bw, depth)
    if (ih + top + bottom) % bh or (iw + left + right) % bw or (ob, oh, ow, od) != expected:
        extra, hint = _mismatch(expected[1:], (oh, ow, od))
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} padded and split "
                                     f"into blocks {[bh, bw]}{extra}", hint)
    if top or bottom or left or right:
        _check_padding(graph, op, y)
    item = DTYPES[x.dtype][1]
    rows, cols = np.full((ob, oh), remap.PAD), np.full((ob, ow), remap.PAD)
    for b in range(ob):
        shift_h, shift_w = divmod(b // ib, bw)
        hs = np.arange(oh) * bh + shift_h - top
        ws = np.arange(ow) * bw + shift_w - left
        rows[b] = np.where((hs >= 0) & (hs < ih), ((b % ib) * ih + hs) * iw * depth * item, remap.PAD)
        cols[b] = np.where((ws >= 0) & (ws < iw), ws * depth * item, remap.PAD)
    return remap.lowered(op, x, y, ob, depth * item, rows, cols, per_batch_cols=True)


def _check_padding(graph: Graph, op: Operator, y: Tensor) -> None:
    """TFLM pads with SpaceToBatchParams.output_offset, which its Init allocates and nothing ever sets:
    the padding is whatever that arena word holds (0 in a fresh 32 MB arena, 112 in a 16 KB one on this
    machine). tinyq pads with 0 bytes: TFLite's meaning (the zero point) when the output's zero point is
    0 or the tensor is float, and TFLM's result whenever its arena starts zeroed."""
    if y.dtype == "int8" and (y.quant is None or y.quant.zp != 0):
        zp = None if y.quant is None else y.quant.zp
        raise unsupported(graph, op, f"padding an int8 output whose zero point is {zp}: TFLM pads with an "
                                     "uninitialized arena word, not the zero point",
                          "give the output zero point 0, or pad with PAD before SPACE_TO_BATCH_ND")


def lower_batch_to_space(graph: Graph, op: Operator) -> Lowered:
    x, y, (bh, bw), (top, bottom, left, right) = _operands(graph, op, "crops")
    ib, ih, iw, depth = _nhwc(x.shape)
    ob, oh, ow, od = _nhwc(y.shape)
    expected = (ib // (bh * bw), ih * bh - top - bottom, iw * bw - left - right, depth)
    if ib % (bh * bw) or (ob, oh, ow, od) != expected or oh < 1 or ow < 1:
        extra, hint = _mismatch(expected[1:], (oh, ow, od)) if oh >= 1 and ow >= 1 else ("", SHAPES_HINT)
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} joined from blocks "
                                     f"{[bh, bw]} and cropped by {[top, bottom, left, right]}{extra}", hint)
    item = DTYPES[x.dtype][1]
    # output (b, h, w) is input pixel (h + top, w + left) of the block's batch: TFLM's loop inverted
    in_h, shift_h = np.divmod(np.arange(oh) + top, bh)
    in_w, shift_w = np.divmod(np.arange(ow) + left, bw)
    image = ih * iw * depth * item
    rows = [(shift_h * bw * ob + b) * image + in_h * iw * depth * item for b in range(ob)]
    cols = shift_w * ob * image + in_w * depth * item
    return remap.lowered(op, x, y, ob, depth * item, rows, cols)


SPECS = [
    OpSpec(name="space_to_batch_nd", builtin="SPACE_TO_BATCH_ND", options=SpaceToBatchNDOptions,
           fb_options="SpaceToBatchNDOptions", lower=lower_space_to_batch, kernels=(remap.REMAP,),
           quant=QuantRule(2, output_as_input=True, activation_inputs=(0,), zero_point_0=True),
           doc="int8/float32, 3-D or 4-D, constant int32 block shape and paddings; a copy through offsets "
               "computed offline (int8 padding needs output zero point 0: TFLM's pad value is uninitialized)"),
    OpSpec(name="batch_to_space_nd", builtin="BATCH_TO_SPACE_ND", options=BatchToSpaceNDOptions,
           fb_options="BatchToSpaceNDOptions", lower=lower_batch_to_space, kernels=(remap.REMAP,),
           quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
           doc="int8/float32, 3-D or 4-D, constant int32 block shape and crops; a copy through offsets "
               "computed offline"),
]
