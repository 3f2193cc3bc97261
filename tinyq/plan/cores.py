"""Two cores: the heavy ops' output shared between core 0 and core 1, decided offline.

A board with `cores = 2` (RP2040, ESP32-S3, QEMU's mps2-an521) runs every op on core 0,
except the heavy ones, whose output is cut in two: conv_2d and depthwise_conv_2d by output
rows, fully_connected by output channels (at a multiple of eight, so that each core keeps
whole blocks of the blocked weights). Core 0 hands core 1 its part (`tq_cores_fork`),
computes its own, and waits for core 1 (`tq_cores_join`): the port of the board provides
the two (firmware/tq_cores_an521.c, the Pico SDK and ESP-IDF ports; without one, the
model's weak default runs both parts on the calling core).

Bit-exact by construction: both parts run the bound kernel itself over a sub-range of the
output (the same sums for every output element), and they write disjoint bytes. The reference
kernels take the sub-range directly; CMSIS-NN's convolution and depthwise functions get each
band as a call of its own over the input rows its windows reach, with its own top padding and
its own half of the op's scratch (templates/cmsis_nn/_2core.j2). The
cut balances an estimate of each part's multiply-accumulates (windows that cross the
padding have fewer taps). A split op never writes its output over its input (its in-place
rule is dropped): core 1 would overwrite input rows core 0 has still to read. (With the parts
running in any interleaving, every byte one core writes must miss every input byte the other
reads; for the output `shift` bytes before the input that asks shift <= cut * out_row - end of
core 0's input rows, while each core's own raster order asks at least a pixel's output more;
for the MLPerf models' convolutions (1x1 and 3x3, strides 1 and 2) no shift does both.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tinyq.bind import REFERENCE_LAYER, BoundGraph, BoundOp
from tinyq.errors import TinyqError

# (layer, lowered kernel) -> (how its output is cut, the two-core call template)
SPLITTABLE = {
    (REFERENCE_LAYER, "conv_2d"): ("rows", "reference/conv_2d_2core.c.j2"),
    (REFERENCE_LAYER, "depthwise_conv_2d"): ("rows", "reference/depthwise_conv_2d_2core.c.j2"),
    (REFERENCE_LAYER, "fully_connected"): ("channels", "reference/fully_connected_2core.c.j2"),
    ("cmsis-nn", "conv_2d"): ("rows", "cmsis_nn/conv_2d_2core.c.j2"),
    ("cmsis-nn", "depthwise_conv_2d"): ("rows", "cmsis_nn/depthwise_conv_2d_2core.c.j2"),
}
# CMSIS-NN functions that compute any band of output rows from the input rows it reaches (the
# 1xN kernel needs one row; the library's other kernels are not split yet: docs/dual_core.md)
CMSIS_NN_ROW_FUNCTIONS = {
    "conv_2d": ("arm_convolve_s8", "arm_convolve_1x1_s8_fast", "arm_convolve_1x1_s8"),
    "depthwise_conv_2d": ("arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_s8_opt", "arm_depthwise_conv_s8"),
}
SCRATCH_ALIGN = 16  # each core's half of a split op's scratch starts aligned
MIN_SPLIT_MACS = 2048  # below this, handing work to core 1 costs about what it saves
CHANNEL_BLOCK = 8  # the blocked weights' channels a pass (tq_dot.h TQ_BLOCK)


@dataclass(frozen=True)
class CoreSplit:
    """Core 0 computes output rows (or channels) [0, cut), core 1 [cut, total)."""

    axis: str  # "rows" or "channels"
    cut: int
    total: int
    macs: tuple[int, int]  # estimated multiply-accumulates of core 0's and core 1's parts


@dataclass(frozen=True)
class SplitParams:
    """An op's parameters with its split: templates read both as `k.params.<field>`."""

    base: Any
    split: CoreSplit

    def __getattr__(self, name: str):
        if name in ("base", "split") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.base, name)


def _taps(origin: int, dilation: int, size: int, taps: int) -> int:
    """How many of a window's taps fall inside the input (tq_window.h's begin/end)."""
    return sum(1 for t in range(taps) if 0 <= origin + t * dilation < size)


def _row_macs(p, depth_per_tap: int) -> list[int]:
    """Multiply-accumulates of each output row of a conv or depthwise window."""
    cols = sum(_taps(ox * p.stride_w - p.pad_w, p.dilation_w, p.in_w, p.filter_w) for ox in range(p.out_w))
    return [_taps(oy * p.stride_h - p.pad_h, p.dilation_h, p.in_h, p.filter_h) * cols * depth_per_tap * p.out_d
            for oy in range(p.out_h)]


def _balanced_cut(costs: list[int], allowed) -> tuple[int, tuple[int, int]] | None:
    """The cut among `allowed` (0 < cut < len) that minimises the larger part's cost."""
    total, best = sum(costs), None
    prefix = [0]
    for c in costs:
        prefix.append(prefix[-1] + c)
    for cut in allowed:
        parts = (prefix[cut], total - prefix[cut])
        if best is None or max(parts) < max(best[1]):
            best = (cut, parts)
    return best


def plan_split(op: BoundOp) -> CoreSplit | None:
    """The split of one bound op, or None when it stays on core 0."""
    kernel = op.lowered.kernel
    if (op.layer, kernel) not in SPLITTABLE or op.lowered.alias_of is not None:
        return None
    if op.library == "cmsis-nn" and op.function not in CMSIS_NN_ROW_FUNCTIONS[kernel]:
        return None
    p = op.lowered.params
    if p.batches != 1:  # the kernels step their output pointer over batches: one batch only
        return None
    axis = SPLITTABLE[op.layer, kernel][0]
    if axis == "rows":
        depth_per_tap = p.filter_d if kernel == "conv_2d" else 1
        costs = _row_macs(p, depth_per_tap)
        best = _balanced_cut(costs, range(1, p.out_h))
        total = p.out_h
    else:
        costs = [p.accum_depth] * p.output_depth
        best = _balanced_cut(costs, range(CHANNEL_BLOCK, p.output_depth, CHANNEL_BLOCK))
        total = p.output_depth
    if best is None or sum(best[1]) < MIN_SPLIT_MACS or min(best[1]) == 0:
        return None
    return CoreSplit(axis=axis, cut=best[0], total=total, macs=best[1])


def split_across_cores(bound: BoundGraph, cores: int) -> BoundGraph:
    """`bound` with its heavy ops shared between `cores` cores (1: unchanged; 2: see the module doc)."""
    if cores == 1:
        return bound
    if cores != 2:
        raise TinyqError(f"cores = {cores} is not supported", where=f"board {bound.target.board}",
                         hint="tinyq splits work across 1 or 2 cores")
    ops = []
    for op in bound.ops:
        split = plan_split(op)
        if split is None:
            ops.append(op)
            continue
        kernel = dataclasses.replace(op.kernel, template=SPLITTABLE[op.layer, op.lowered.kernel][1], inplace=None)
        lowered = dataclasses.replace(op.lowered, params=SplitParams(op.lowered.params, split))
        scratch = 2 * -(-op.scratch_bytes // SCRATCH_ALIGN) * SCRATCH_ALIGN  # one half per core
        ops.append(dataclasses.replace(op, kernel=kernel, lowered=lowered, inplace=None, scratch_bytes=scratch))
    return dataclasses.replace(bound, ops=tuple(ops))


def splits(bound: BoundGraph) -> dict[int, CoreSplit]:
    """The split ops of a bound graph, by position."""
    return {i: op.lowered.params.split for i, op in enumerate(bound.ops) if isinstance(op.lowered.params, SplitParams)}


def board_cores(board) -> int:
    """The cores a board's generated code uses (its `cores` key; 1 when absent)."""
    value = board.extra.get("cores", 1) if board is not None else 1
    if not isinstance(value, int) or value < 1:
        raise TinyqError(f"cores must be a positive integer, got {value!r}", where=f"boards/{board.name}.toml")
    return value
