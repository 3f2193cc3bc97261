"""conv_2d as the CMSIS-NN convolution its wrapper would pick (rules.conv_function)."""

from __future__ import annotations

import numpy as np

from tinyq.backends.cmsis_nn import rules, too_large, window_limits
from tinyq.backends.cmsis_nn.inplace import by_function
from tinyq.backends.common import shift32
from tinyq.ops.base import ConstArray, Kernel, Lowered, Target


def _derived(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    p = k.params
    if p.in_d != p.filter_d and not p.has_bias:
        # arm_convolve_s8 (v7.0.0 and the pinned main) steps its bias pointer per group even when NULL,
        # then reads through it: give grouped convolutions a bias of zeros
        return shift32(k), ConstArray("bias", "int32_t", np.zeros(p.out_d, dtype=np.int32))
    return (shift32(k),)


KERNELS = [Kernel(
    name="conv_2d", template="cmsis_nn/conv_2d.c.j2", uses=("filter", "multiplier", "bias"), derived=_derived,
    applies=lambda k, t: window_limits(k.params) or too_large(k.params.in_d, k.params.out_d),
    function=lambda k, t: rules.conv_function(k.params, t.isa),
    scratch=lambda k, t: rules.conv_scratch_bytes(k.params, t.isa, t.compiler), inplace=by_function,
    doc="extents up to 65535; the wrapper's kernel choice (1x1, 1xN, general) made offline")]
