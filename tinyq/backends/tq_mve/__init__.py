"""tinyq's own Helium kernels inside the CMSIS-NN backend (templates/cmsis_nn/kernels/tq_mve_*).

CMSIS-NN (v7.0.0, and the pinned main) spends most of a model's instructions in a few generic kernels:
its convolutions multiply 4 pixels by 1 channel at a time, re-summing the
channel's weights for the input offset in the inner loop (arm_nn_mat_mult_nt_t_s8).
tinyq's kernels do what can be done offline offline: the weights are packed per
quad of output channels and zero-padded to whole 16-byte vectors, the input
offset is folded into the bias, the requantization shifts are split in two, and
the inner loop is 2 pixels x 4 channels of bare 16-lane dot products
(tq_mve_conv_s8, also for fully connected layers; a lone row - a batch-1 fully
connected layer - runs 1 row x 4 channels instead of computing the row twice).
The depthwise kernel runs 16 channels per vector with taps outside the input
reading the zero point, and adds two taps' int16 products before widening them
when no weight is -128; the add kernel is TFLM's arithmetic on 4 lanes. Layers
whose every channel shifts right get a shorter rounding step. The instruction
order is chosen with tinyq's cycle estimate (tinyq/bench/cycles.py,
docs/cycles.md): loads between dot products, so the load/store and multiply
units overlap. All are bit-exact with TFLM
(tests/test_mve_kernels.py); measured per layer in the benchmark issue's report.

This layer comes first in the cmsis-nn backend: where a kernel's condition holds
(Helium target, a shape it handles) the op calls tinyq's kernel, otherwise the
CMSIS-NN layer's call. `tinyq inspect --backend cmsis-nn` names the function and
why a layer did not apply.
"""

from __future__ import annotations

from tinyq.ops.base import Target

NAME = "tq-mve"
LANES = 16  # int8 lanes of a Helium vector


def isa_reason(target: Target) -> str | None:
    return None if target.isa == "mve" else "tinyq's Helium kernels need an MVE target"
