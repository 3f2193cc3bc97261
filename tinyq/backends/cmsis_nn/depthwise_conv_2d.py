"""depthwise_conv_2d as the CMSIS-NN kernel its wrapper would pick (rules.depthwise_function)."""

from __future__ import annotations

import numpy as np

from tinyq.backends.cmsis_nn import rules, too_large, window_limits
from tinyq.backends.cmsis_nn.inplace import by_function
from tinyq.backends.common import shift32
from tinyq.ops.base import ConstArray, Kernel, Lowered, Target


def _as_conv(k: Lowered, target: Target) -> bool:
    return rules.depthwise_as_conv(k.params.as_conv(), target.isa, target.compiler)


def _uses(k: Lowered, target: Target) -> tuple[str, ...]:
    return ("multiplier", "bias") if _as_conv(k, target) else ("filter", "multiplier", "bias")


def _derived(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    if not _as_conv(k, target):
        return (shift32(k),)
    # [1, H, W, C_OUT] -> [C_OUT, H, W, 1], what the wrapper would transpose at run time
    s = k.params.as_conv()
    filt = k.const("filter").reshape(s.filter_h, s.filter_w, s.out_d).transpose(2, 0, 1)
    return shift32(k), ConstArray("filter_as_conv", "int8_t", np.ascontiguousarray(filt).reshape(-1))


KERNELS = [Kernel(
    name="depthwise_conv_2d", template="cmsis_nn/depthwise_conv_2d.c.j2", uses=_uses,
    derived=_derived,
    applies=lambda k, t: window_limits(k.params) or too_large(k.params.out_d),
    function=lambda k, t: rules.depthwise_function(k.params.as_conv(), t.isa, t.compiler),
    scratch=lambda k, t: rules.depthwise_scratch_bytes(k.params.as_conv(), t.isa, t.compiler), inplace=by_function,
    doc="extents up to 65535; on Helium a one-input-channel layer runs as a convolution")]
