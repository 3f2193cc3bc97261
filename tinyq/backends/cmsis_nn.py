"""CMSIS-NN backend: Arm's optimized s8 kernels for Cortex-M (pure C, DSP, Helium).

Every parameter the calls take (offsets, per-channel multipliers and shifts,
activation ranges, dims, padding) is already in the op's lowered parameters,
computed exactly as TFLM's CMSIS-NN glue computes them; this module only adds,
per op, the conditions under which the CMSIS-NN kernel reproduces TFLM, the
function it ends up in (cmsis_nn_kernels.py), its scratch size on the build's
target, and the extra flash arrays its call wants (int32 shifts; on Helium the
fully connected weight sums). Call templates: templates/cmsis_nn/<kernel>.c.j2.
"""

from __future__ import annotations

import numpy as np

from tinyq.backends import HOST, Backend, KernelOverride, Target, register
from tinyq.backends import cmsis_nn_kernels as ck
from tinyq.backends import cmsis_nn_mve as mve
from tinyq.build.libraries import LIBRARIES
from tinyq.ops.base import ConstArray, Lowered

NAME = "cmsis-nn"
LIBRARY = LIBRARIES[NAME]  # its pinned release: what the CMake fetches and the scratch rules follow
MAX_EXTENT = 65535  # several kernels hold extents in uint16_t


def _const(k: Lowered, name: str) -> np.ndarray | None:
    return next((np.asarray(c.values) for c in k.consts if c.name == name), None)


def _shift32(k: Lowered) -> ConstArray:
    """CMSIS-NN takes shifts as int32_t; tinyq's reference keeps them as int8_t."""
    return ConstArray("shift32", "int32_t", _const(k, "shift").astype(np.int32))


def _too_large(*extents: int) -> str | None:
    if max(extents) > MAX_EXTENT:
        return f"an extent of {max(extents)} exceeds the {MAX_EXTENT} CMSIS-NN kernels index with uint16_t"
    return None


def conv_shape(p) -> ck.ConvShape:
    return ck.ConvShape(batches=p.batches, in_h=p.in_h, in_w=p.in_w, in_d=p.in_d, out_h=p.out_h, out_w=p.out_w,
                        out_d=p.out_d, filter_h=p.filter_h, filter_w=p.filter_w, filter_d=p.filter_d,
                        stride_h=p.stride_h, stride_w=p.stride_w, dilation_h=p.dilation_h,
                        dilation_w=p.dilation_w, pad_h=p.pad_h, pad_w=p.pad_w)


def depthwise_shape(p) -> ck.ConvShape:
    out_d = p.in_d * p.depth_multiplier
    return ck.ConvShape(batches=p.batches, in_h=p.in_h, in_w=p.in_w, in_d=p.in_d, out_h=p.out_h, out_w=p.out_w,
                        out_d=out_d, filter_h=p.filter_h, filter_w=p.filter_w, filter_d=out_d,
                        stride_h=p.stride_h, stride_w=p.stride_w, dilation_h=p.dilation_h,
                        dilation_w=p.dilation_w, pad_h=p.pad_h, pad_w=p.pad_w)


def _window_limits(p) -> str | None:
    return _too_large(p.in_h, p.in_w, p.out_h, p.out_w, p.batches)


def _conv_consts(k: Lowered) -> tuple[ConstArray, ...]:
    p = k.params
    if p.in_d != p.filter_d and not p.has_bias:
        # arm_convolve_s8 (v7.0.0) steps its bias pointer per group even when it is NULL,
        # then reads through it: give grouped convolutions a bias of zeros
        return _shift32(k), ConstArray("bias", "int32_t", np.zeros(p.out_d, dtype=np.int32))
    return (_shift32(k),)


def _conv(target: Target) -> KernelOverride:
    isa, cc = target.isa, target.compiler
    return KernelOverride(
        applies=lambda k: _window_limits(k.params) or _too_large(k.params.in_d, k.params.out_d),
        scratch_bytes=lambda k: ck.conv_scratch_bytes(conv_shape(k.params), isa, cc),
        consts=_conv_consts,
        function=lambda k: ck.conv_function(conv_shape(k.params), isa))


def _depthwise_consts(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    s = depthwise_shape(k.params)
    if not ck.depthwise_as_conv(s, target.isa, target.compiler):
        return (_shift32(k),)
    # [1, H, W, C_OUT] -> [C_OUT, H, W, 1], what the wrapper would transpose at run time
    filt = _const(k, "filter").reshape(s.filter_h, s.filter_w, s.out_d).transpose(2, 0, 1)
    return _shift32(k), ConstArray("filter_as_conv", "int8_t", np.ascontiguousarray(filt).reshape(-1))


def _depthwise(target: Target) -> KernelOverride:
    isa, cc = target.isa, target.compiler
    return KernelOverride(
        applies=lambda k: _window_limits(k.params) or _too_large(k.params.in_d * k.params.depth_multiplier),
        scratch_bytes=lambda k: ck.depthwise_scratch_bytes(depthwise_shape(k.params), isa, cc),
        consts=lambda k: _depthwise_consts(k, target),
        function=lambda k: ck.depthwise_function(depthwise_shape(k.params), isa, cc))


def fc_per_tensor(k: Lowered) -> bool:
    """One multiplier and shift for every output: the per-tensor kernel (same arithmetic)."""
    mult, shift = _const(k, "multiplier"), _const(k, "shift")
    return bool((mult == mult[0]).all() and (shift == shift[0]).all())


def _fc_consts(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    arrays = () if fc_per_tensor(k) else (_shift32(k),)
    if ck.fully_connected_sums_needed(target.isa):
        # arm_vector_sum_s8's result is the lowering's accumulator start (qmath.accumulator_start)
        arrays += (ConstArray("kernel_sum", "int32_t", _const(k, "acc_init")),)
    return arrays


def _fully_connected(target: Target) -> KernelOverride:
    return KernelOverride(
        applies=lambda k: _too_large(k.params.accum_depth, k.params.output_depth),
        consts=lambda k: _fc_consts(k, target),
        function=lambda k: "arm_fully_connected_s8" if fc_per_tensor(k) else "arm_fully_connected_per_channel_s8")


def _pool(function: str, target: Target) -> KernelOverride:
    scratch = ((lambda k: ck.avgpool_scratch_bytes(k.params.depth, target.isa))
               if function == "arm_avgpool_s8" else (lambda k: 0))
    return KernelOverride(applies=lambda k: _window_limits(k.params) or _too_large(k.params.depth),
                          scratch_bytes=scratch, function=lambda k: function)


def elementwise_reason(k: Lowered) -> str | None:
    """CMSIS-NN's and ESP-NN's add/mul walk two equally shaped tensors (TFLM's glue runs
    broadcasts in the reference kernel too)."""
    loops = k.params.loops
    if loops.rank != 1 or loops.stride_a != (1,) or loops.stride_b != (1,):
        return f"{k.kernel} broadcasts its operands; the library's elementwise kernel needs equal shapes"
    return None


def _softmax_reason(k: Lowered) -> str | None:
    return None if k.params.output_bits in (8, 16) else f"softmax to {k.params.output_bits}-bit output"


def overrides(target: Target) -> dict[str, KernelOverride]:
    return {
        "conv_2d": mve.with_conv(_conv(target), target),  # tinyq's Helium kernel where it applies
        "depthwise_conv_2d": mve.with_depthwise(_depthwise(target), target),
        "fully_connected": mve.with_fully_connected(_fully_connected(target), target),
        "average_pool_2d": _pool("arm_avgpool_s8", target),
        "max_pool_2d": _pool("arm_max_pool_s8", target),
        "add": mve.with_add(KernelOverride(applies=elementwise_reason, function=lambda k: "arm_elementwise_add_s8"),
                            target),
        "mul": KernelOverride(applies=elementwise_reason, function=lambda k: "arm_elementwise_mul_s8"),
        "softmax": KernelOverride(applies=_softmax_reason, function=lambda k: (
            "arm_softmax_s8_s16" if k.params.output_bits == 16 else "arm_softmax_s8")),
        **_s4_overrides(target),
    }


def _s4_overrides(target: Target) -> dict[str, KernelOverride]:
    """int4 weights: the s4 kernels (cmsis_nn_s4.py, imported here because it builds on this module)."""
    from tinyq.backends import cmsis_nn_s4

    return cmsis_nn_s4.overrides(target)


CMSIS_NN = Backend(name=NAME, template_dirs=("cmsis_nn",), overrides=overrides(HOST), target=HOST,
                   retarget=overrides, library="cmsis-nn",
                   project_context={"cmsis_nn_version": LIBRARY.version, "cmsis_nn_repository": LIBRARY.repository},
                   doc=f"Arm CMSIS-NN {LIBRARY.version} s8 and s4 kernels (pure C, DSP or Helium, as the target has)")

register(CMSIS_NN)
