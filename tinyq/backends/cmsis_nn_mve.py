"""tinyq's own Helium kernels inside the CMSIS-NN backend (templates/cmsis_nn/kernels/tq_mve_*).

CMSIS-NN v7.0.0 spends most of a model's instructions in a few generic kernels:
its convolutions multiply 4 pixels by 1 channel at a time, re-summing the
channel's weights for the input offset in the inner loop (arm_nn_mat_mult_nt_t_s8).
tinyq's kernels do what can be done offline offline: the weights are packed per
quad of output channels and zero-padded to whole 16-byte vectors, the input
offset is folded into the bias, the requantization shifts are split in two, and
the inner loop is 2 pixels x 4 channels of bare 16-lane dot products
(tq_mve_conv_s8, also for fully connected layers). The depthwise kernel runs 16
channels per vector with taps outside the input reading the zero point; the add
kernel is TFLM's arithmetic on 4 lanes. All are bit-exact with TFLM
(tests/test_mve_kernels.py); measured per layer in the benchmark issue's report.

Each kernel here wraps the CMSIS-NN override of its op: where its condition holds
(Helium target, a shape it handles) the op calls tinyq's kernel, otherwise the
CMSIS-NN call as before. `tinyq inspect --backend cmsis-nn` names the function.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyq.backends import KernelOverride, Target
from tinyq.ops.base import ConstArray, Lowered

CONV = "tq_mve_conv_s8"
ADD = "tq_mve_add_s8"
DEPTHWISE = "tq_mve_depthwise_s8"
DW_GROUP = 16  # depthwise channels per vector
# the kernel's four accumulators hold these channels of a group, in this order
DW_ORDER = (0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15)
DW_MAX_TAPS = 64  # TQ_MVE_DW_MAX_TAPS
LANES = 16  # int8 lanes of a Helium vector
QUAD = 4  # output channels per block


def _const(k: Lowered, name: str) -> np.ndarray | None:
    return next((np.asarray(c.values) for c in k.consts if c.name == name), None)


def conv_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_conv_s8 does not run this conv_2d, or None when it does."""
    p = k.params
    if target.isa != "mve":
        return "tinyq's Helium convolution needs an MVE target"
    if p.in_d != p.filter_d:
        return "grouped convolution"
    return None


def conv_runs_padded(p) -> bool:
    """Window rows that are not whole vectors are each zero-padded to whole vectors when that
    costs at most half as many vectors again, so windows inside the input are read in place
    (the rule of tq_mve_conv_s8)."""
    taps_w = p.filter_w * p.in_d
    dense, runs = -(-p.filter_h * taps_w // LANES), p.filter_h * -(-taps_w // LANES)
    return not conv_direct(p) and p.dilation_w == 1 and taps_w % LANES != 0 and 2 * runs <= 3 * dense


def conv_chunks(p) -> int:
    """16-byte vectors per im2col row (filter_h * filter_w * in_d, zero-padded as a whole or per
    window row)."""
    taps_w = p.filter_w * p.in_d
    if conv_runs_padded(p):
        return p.filter_h * -(-taps_w // LANES)
    return -(-p.filter_h * taps_w // LANES)


def conv_direct(p) -> bool:
    """A 1x1 unpadded convolution over whole vectors of channels reads its rows in place."""
    return (p.filter_h, p.filter_w, p.pad_h, p.pad_w) == (1, 1, 0, 0) and p.in_d % LANES == 0


def conv_scratch_bytes(p) -> int:
    return 0 if conv_direct(p) else 2 * LANES * conv_chunks(p)  # two im2col rows


def pack_quads(rows: np.ndarray, per_channel: list[np.ndarray]) -> np.ndarray:
    """[N, K] int8 weights and per-channel int32 columns -> the kernel's int32 words: per quad of
    channels, per 16-byte chunk of a row the quad's 4 chunks, then each column's 4 values
    (zero padding past K and N; int32 words keep the record aligned for vector loads)."""
    n, depth = rows.shape
    chunks, quads = -(-depth // LANES), -(-n // QUAD)
    weights = np.zeros((quads * QUAD, chunks * LANES), dtype=np.int8)
    weights[:n, :depth] = rows
    weights = weights.reshape(quads, QUAD, chunks, LANES).transpose(0, 2, 1, 3).reshape(quads, -1)
    columns = np.zeros((quads * QUAD, len(per_channel)), dtype=np.int32)
    for i, values in enumerate(per_channel):
        columns[:n, i] = values
    columns = columns.reshape(quads, QUAD, -1).transpose(0, 2, 1).reshape(quads, -1)
    words = np.concatenate([weights.view("<i4"), columns.astype("<i4")], axis=1)
    return words.reshape(-1).astype(np.int32)


def requant_columns(k: Lowered) -> list[np.ndarray]:
    """The op's accumulator start (bias + input_offset * the channel's weight sum, from lowering),
    multiplier, left shift, negative right shift."""
    start = _const(k, "acc_init")
    n = start.size
    shift = np.broadcast_to(_const(k, "shift").astype(np.int32), (n,))
    multiplier = np.broadcast_to(_const(k, "multiplier").astype(np.int32), (n,))
    return [start.astype(np.int32), multiplier, np.maximum(shift, 0), np.minimum(shift, 0)]


def conv_consts(k: Lowered) -> tuple[ConstArray, ...]:
    p = k.params
    rows = _const(k, "filter").reshape(p.out_d, -1)
    columns = requant_columns(k)
    if conv_runs_padded(p):  # each window row's weights padded to whole vectors
        runs = rows.reshape(p.out_d, p.filter_h, p.filter_w * p.in_d)
        padded = np.zeros((p.out_d, p.filter_h, -(-runs.shape[2] // LANES) * LANES), dtype=np.int8)
        padded[:, :, :runs.shape[2]] = runs
        rows = padded.reshape(p.out_d, -1)
    return (ConstArray("mve_packed", "int32_t", pack_quads(rows, columns)),)


def fc_reason(k: Lowered, target: Target) -> str | None:
    """Why a fully connected layer does not run as tq_mve_conv_s8 (a 1x1 convolution over
    `batches` pixels), or None when it does."""
    if target.isa != "mve":
        return "tinyq's Helium kernels need an MVE target"
    if k.params.filter_offset:
        return "weights with a zero point (the input sums would be needed at run time)"
    return None


def fc_consts(k: Lowered) -> tuple[ConstArray, ...]:
    p = k.params
    rows = _const(k, "filter").reshape(p.output_depth, p.accum_depth)
    columns = requant_columns(k)
    return (ConstArray("mve_packed", "int32_t", pack_quads(rows, columns)),)


def fc_scratch_bytes(p) -> int:
    return 0 if p.accum_depth % LANES == 0 else 2 * LANES * (-(-p.accum_depth // LANES))


def depthwise_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_depthwise_s8 does not run this depthwise convolution, or None when it does."""
    p = k.params
    if target.isa != "mve":
        return "tinyq's Helium kernels need an MVE target"
    if p.depth_multiplier != 1:
        return "depth multiplier above 1"
    if p.filter_h * p.filter_w > DW_MAX_TAPS:
        return f"more than {DW_MAX_TAPS} taps"
    return None


def pack_depthwise(taps: np.ndarray, per_channel: list[np.ndarray]) -> np.ndarray:
    """[T, C] int8 taps and per-channel int32 columns -> the kernel's int32 words: per group of 16
    channels, each tap's 16 weights, then each column's 16 values in DW_ORDER."""
    n_taps, channels = taps.shape
    groups = -(-channels // DW_GROUP)
    weights = np.zeros((n_taps, groups * DW_GROUP), dtype=np.int8)
    weights[:, :channels] = taps
    weights = weights.reshape(n_taps, groups, DW_GROUP).transpose(1, 0, 2).reshape(groups, -1)
    columns = np.zeros((groups * DW_GROUP, len(per_channel)), dtype=np.int32)
    for i, values in enumerate(per_channel):
        columns[:channels, i] = values
    columns = columns.reshape(groups, DW_GROUP, -1)[:, list(DW_ORDER)].transpose(0, 2, 1).reshape(groups, -1)
    return np.concatenate([weights.view("<i4"), columns.astype("<i4")], axis=1).reshape(-1).astype(np.int32)


def depthwise_consts(k: Lowered) -> tuple[ConstArray, ...]:
    p = k.params
    taps = _const(k, "filter").reshape(p.filter_h * p.filter_w, p.in_d)
    columns = requant_columns(k)
    return (ConstArray("mve_packed", "int32_t", pack_depthwise(taps, columns)),)


def _switch(cmsis_nn: KernelOverride, mine, scratch, consts, function: str = CONV) -> KernelOverride:
    return dataclasses.replace(
        cmsis_nn,
        scratch_bytes=lambda k: scratch(k.params) if mine(k) else cmsis_nn.scratch_bytes(k),
        consts=lambda k: consts(k) if mine(k) else cmsis_nn.consts(k),
        function=lambda k: function if mine(k) else cmsis_nn.function(k))


def with_depthwise(cmsis_nn: KernelOverride, target: Target) -> KernelOverride:
    """The depthwise_conv_2d override: tq_mve_depthwise_s8 where depthwise_reason allows."""
    return _switch(cmsis_nn, lambda k: depthwise_reason(k, target) is None, lambda p: 0, depthwise_consts,
                   DEPTHWISE)


def with_fully_connected(cmsis_nn: KernelOverride, target: Target) -> KernelOverride:
    """The fully_connected override: tq_mve_conv_s8 where fc_reason allows, else `cmsis_nn`'s call."""
    return _switch(cmsis_nn, lambda k: fc_reason(k, target) is None, fc_scratch_bytes, fc_consts)


def with_conv(cmsis_nn: KernelOverride, target: Target) -> KernelOverride:
    """The conv_2d override: tq_mve_conv_s8 where conv_reason allows, else `cmsis_nn`'s call."""
    return _switch(cmsis_nn, lambda k: conv_reason(k, target) is None, conv_scratch_bytes, conv_consts)


def add_reason(k: Lowered, target: Target) -> str | None:
    """Why tq_mve_add_s8 does not run this add (besides broadcasting, which the CMSIS-NN
    override already sends to the reference), or None when it does."""
    p = k.params
    if target.isa != "mve":
        return "tinyq's Helium kernels need an MVE target"
    if max(p.input1_shift, p.input2_shift, p.output_shift) > 0:
        return "a rescale with a left shift"
    return None


def with_add(cmsis_nn: KernelOverride, target: Target) -> KernelOverride:
    """The add override: tq_mve_add_s8 where add_reason allows, else `cmsis_nn`'s call."""
    return _switch(cmsis_nn, lambda k: add_reason(k, target) is None, lambda p: 0, cmsis_nn.consts, ADD)
