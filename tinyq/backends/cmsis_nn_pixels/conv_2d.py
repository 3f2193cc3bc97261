"""A unit-stride 1x1 convolution as arm_convolve_1x1_s8_fast called once per pixel, where the
call over the whole layer cannot overwrite its input.

On the scalar and DSP paths arm_convolve_1x1_s8_fast is one arm_nn_mat_mult_nt_t_s8 over every
pixel, pairs of pixels inside pairs of output channels: it reads the first pixels again after
the last were written, so its output needs bytes of its own (no in-place rule). Called on one
pixel at a time (1x1x1 dims) the same arithmetic reads that pixel for every pair of output
channels it writes to it, then moves on: the reference convolution's order (WINDOW), so the
output may overwrite the input as closely. The price is the GEMM's one-row path and a call per
pixel; on KWS's DS-CNN (DSP path) its four peak 1x1 layers keep CMSIS-NN this way at the
reference arena (9,792 B) instead of the reference kernels.
"""

from __future__ import annotations

from tinyq.backends.cmsis_nn import conv_2d, rules
from tinyq.ops.base import Kernel, Lowered, Target
from tinyq.ops.inplace import WINDOW

WHOLE = conv_2d.KERNELS[0]


def _applies(k: Lowered, target: Target) -> str | None:
    if target.isa == "mve":
        return "on Helium the whole-layer call writes over its input already (4-row GEMMs)"
    if rules.conv_function(k.params, target.isa) != "arm_convolve_1x1_s8_fast":
        return "only where the wrapper's choice is arm_convolve_1x1_s8_fast"
    if target.isa == "dsp" and target.compiler == "armclang":
        return "armclang's DSP build buffers the 1x1 kernel (scratch per call)"
    return WHOLE.applies(k, target)


KERNELS = [Kernel(name="conv_2d", template="cmsis_nn/conv_2d_pixels.c.j2", uses=WHOLE.uses, derived=WHOLE.derived,
                  applies=_applies, function=lambda k, t: "arm_convolve_1x1_s8_fast", inplace=WINDOW,
                  doc="a unit-stride 1x1 convolution pixel by pixel, where the whole-layer call would need more "
                      "RAM than the reference kernels (scalar and DSP paths)")]
