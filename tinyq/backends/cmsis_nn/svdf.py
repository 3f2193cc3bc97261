"""svdf as arm_svdf_s8 (int8 state) or arm_svdf_state_s16_s8 (int16 state), where they reproduce
TFLM's reference SVDF (EvalIntegerSvdfReference).

TFLM's CMSIS-NN glue (kernels/cmsis_nn/svdf.cc) makes these calls; tinyq passes the same values
except the range the new state column saturates to, which is the state type's (TFLM's glue passes
int16's also for an int8 state, where the library then wraps what the reference saturates). The
library's time sums leave out the state's zero point (and its int8 feature step adds none), so it
runs only states with zero point 0. On Helium arm_svdf_s8 reads per-filter weight sums from its
context buffer (arm_svdf_s8_get_buffer_size: 4 bytes a filter): computed offline into flash, as
TFLM computes them once in Prepare. The scratch holds the library's two int32 buffers, the
per-filter and the per-unit sums, sized as TFLM's glue requests them.
"""

from __future__ import annotations

from tinyq import qmath
from tinyq.backends.cmsis_nn import too_large
from tinyq.ops.base import ConstArray, Kernel, Lowered, Target


def _applies(k: Lowered, target: Target) -> str | None:
    p = k.params
    if p.state_zero_point:
        return (f"the state's zero point is {p.state_zero_point}: CMSIS-NN's SVDF leaves it out of its time sums "
                "(TFLM subtracts it)")
    return too_large(p.input_size, p.filters, p.memory, p.units, p.rank)


def _derived(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    if k.kernel != "svdf" or target.isa != "mve":
        return ()
    # arm_vector_sum_s8(sums, input, filters, weights, -input zero point, 0, NULL), as TFLM's Prepare
    return (ConstArray("kernel_sum", "int32_t",
                       qmath.accumulator_start(k.const("feature_weights"), -k.params.input_zero_point)),)


def _scratch(k: Lowered, target: Target) -> int:
    p = k.params
    return 4 * p.batches * (p.filters + p.units)


KERNELS = [
    Kernel(name="svdf", template="cmsis_nn/svdf.c.j2", applies=_applies, derived=_derived, scratch=_scratch,
           function=lambda k, t: "arm_svdf_s8", doc="state zero point 0"),
    Kernel(name="svdf_state_s16", template="cmsis_nn/svdf_state_s16.c.j2", applies=_applies, scratch=_scratch,
           function=lambda k, t: "arm_svdf_state_s16_s8", doc="state zero point 0"),
]
