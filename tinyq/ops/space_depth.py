"""DEPTH_TO_SPACE and SPACE_TO_DEPTH: 4-D int8/float32, any block size.

Pure data movement. In DEPTH_TO_SPACE output row (h, i) takes, for every input column
w, the bs*C run starting at channel i*bs*C of input pixel (h, w); in SPACE_TO_DEPTH
output pixel (h, w) is bs runs of bs*C, one from each input row h*bs + i. Both lower
to the remap copy (tinyq/ops/remap.py) in chunks of bs*C elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import DTYPES, Graph, Operator
from tinyq.ops import remap
from tinyq.ops.base import Lowered, OpSpec, QuantRule, unsupported
from tinyq.ops.common import io

DTYPES_SUPPORTED = ("int8", "float32")  # TFLM's kernels take these


@dataclass(frozen=True)
class DepthToSpaceOptions:
    block_size: int = 0


@dataclass(frozen=True)
class SpaceToDepthOptions:
    block_size: int = 0


def _operands(graph: Graph, op: Operator):
    (x, *_), (y,) = io(graph, op, 1)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(graph, op, f"input {list(x.shape)} and output {list(y.shape)}: TFLM takes 4-D tensors",
                          "reshape to 4-D NHWC around the op")
    if x.dtype != y.dtype or x.dtype not in DTYPES_SUPPORTED:
        raise unsupported(graph, op, f"{x.dtype} -> {y.dtype}: TFLM's kernel takes int8 or float32, the same "
                                     "on both sides",
                          "quantize the model to int8 (tinyq quantize) or convert the tensors")
    bs = op.options.block_size
    if bs < 1:
        raise unsupported(graph, op, f"block_size {bs} must be at least 1",
                          "the model's shapes are inconsistent; re-export it")
    return x, y, bs, DTYPES[x.dtype][1]


def lower_depth_to_space(graph: Graph, op: Operator) -> Lowered:
    x, y, bs, item = _operands(graph, op)
    n, h, w, d = x.shape
    if d % (bs * bs) or tuple(y.shape) != (n, h * bs, w * bs, d // (bs * bs)):
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} with depth moved "
                                     f"into {bs}x{bs} blocks", "the model's shapes are inconsistent; re-export it")
    run = bs * (d // (bs * bs)) * item  # one output row's bs pixels from one input pixel
    out_rows = np.arange(h * bs)
    rows = [((b * h + out_rows // bs) * w * d) * item + (out_rows % bs) * run for b in range(n)]
    cols = np.arange(w) * d * item
    return remap.lowered(op, x, y, n, run, rows, cols)


def lower_space_to_depth(graph: Graph, op: Operator) -> Lowered:
    x, y, bs, item = _operands(graph, op)
    n, h, w, d = x.shape
    if h % bs or w % bs or tuple(y.shape) != (n, h // bs, w // bs, d * bs * bs):
        raise unsupported(graph, op, f"output {list(y.shape)} is not input {list(x.shape)} with {bs}x{bs} "
                                     "blocks moved into depth", "the model's shapes are inconsistent; re-export it")
    run = bs * d * item  # bs neighbouring input pixels of one row
    rows = [((b * h + np.arange(h // bs) * bs) * w * d) * item for b in range(n)]
    cols = ((np.arange(w // bs)[:, None] * bs * d) + np.arange(bs)[None, :] * w * d).reshape(-1) * item
    return remap.lowered(op, x, y, n, run, rows, cols)


SPECS = [
    OpSpec(name="depth_to_space", builtin="DEPTH_TO_SPACE", options=DepthToSpaceOptions,
           fb_options="DepthToSpaceOptions", lower=lower_depth_to_space, kernels=(remap.REMAP,),
           quant=QuantRule(2, output_as_input=True),
           doc="int8/float32, any block size; a copy in runs of block_size x depth"),
    OpSpec(name="space_to_depth", builtin="SPACE_TO_DEPTH", options=SpaceToDepthOptions,
           fb_options="SpaceToDepthOptions", lower=lower_space_to_depth, kernels=(remap.REMAP,),
           quant=QuantRule(2, output_as_input=True),
           doc="int8/float32, any block size; a copy in runs of block_size x depth"),
]
