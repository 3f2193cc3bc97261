"""CMSIS-NN's s4 kernels: conv, depthwise and fully connected with int4 weights.

The weights reach the library as tinyq keeps them in flash, packed two per byte
in TFLite's order (tinyq/ops/int4.py), which is what the s4 kernels read. As for
s8, tinyq makes the wrappers' choice offline (arm_convolve_wrapper_s4.c,
arm_depthwise_conv_wrapper_s4.c), calls that kernel directly and sizes its
scratch for the build's target (arm_*_get_buffer_sizes_s4.c; Helium sizes as
TFLM's glue requests them). Where a kernel would not reproduce TFLM, the op
falls back to tinyq's reference s4 kernel with the reason.
"""

from __future__ import annotations

from tinyq.backends.cmsis_nn import rules as ck
from tinyq.backends.cmsis_nn import too_large, window_limits
from tinyq.backends.cmsis_nn.inplace import by_function
from tinyq.backends.common import shift32
from tinyq.ops.base import Kernel, Lowered
from tinyq.ops.geometry import ConvWindow


def _c_div(a: int, b: int) -> int:
    return int(a / b)  # C's truncating division


def helium_1_x_n_runs(s: ConvWindow) -> bool:
    """Whether Helium's arm_convolve_1_x_n_s4 accepts the row: it splits the outputs into
    left-padded, unpadded and right-padded runs and returns an error when they do not add up
    (odd total padding the other way round, a VALID row that leaves two or more columns, ...)."""
    total = ck.total_pad_w(s)
    asym = total - 2 * _c_div(total, 2)  # C's %, negative for a negative total
    if s.pad_w * 2 + asym != total:
        return False
    right = max(1, _c_div(s.pad_w + asym + s.stride_w - 1, s.stride_w)) if s.pad_w + asym else 0
    left = max(1, _c_div(s.pad_w + s.stride_w - 1, s.stride_w)) if s.pad_w else 0
    middle = max(s.out_w - (right + left), 0)
    return right + middle + left == s.out_w and s.stride_w * left - s.pad_w >= 0


def helium_1_x_n_exact(s: ConvWindow) -> bool:
    """Helium's arm_convolve_1_x_n_s4 runs the row and matches TFLM: with an odd input depth its
    padded windows start their filter at an odd nibble, which it reads from the byte before
    (v7.0.0; seen under QEMU mps3-an547; the pinned main changes only its argument check), so those rows
    need an even depth."""
    return s.in_d % 2 == 0 and helium_1_x_n_runs(s)


def conv_function(s: ConvWindow, isa: str) -> str:
    """arm_convolve_wrapper_s4's choice (only Helium builds have the even-columns kernel),
    except a row Helium's 1xN kernel would refuse or get wrong: that runs in the general kernel."""
    cols = s.filter_h * s.filter_w * s.in_d
    if ck._is_1x1_unpadded(s):
        return "arm_convolve_1x1_s4_fast" if (s.stride_w, s.stride_h) == (1, 1) else "arm_convolve_1x1_s4"
    if ck._is_1_x_n(s) and (isa != "mve" or helium_1_x_n_exact(s)):
        return "arm_convolve_1_x_n_s4"
    if isa == "mve" and cols % 2 == 0:
        return "arm_convolve_even_s4"
    return "arm_convolve_s4"


def conv_scratch_bytes(s: ConvWindow, isa: str) -> int:
    function = conv_function(s, isa)
    cols = s.filter_h * s.filter_w * s.in_d
    if function in ("arm_convolve_1x1_s4_fast", "arm_convolve_1x1_s4"):
        return 0
    if isa == "mve":
        if function == "arm_convolve_1_x_n_s4":
            return 0  # Helium's 1xN reads the input in place (other rows go elsewhere)
        return 4 * ck._align(cols, 16)  # four im2col rows of whole 16-lane vectors
    return 2 * cols * 2  # two int16 im2col columns (no alignment, unlike s8)


def depthwise_function(s: ConvWindow, isa: str) -> str:
    """arm_depthwise_conv_wrapper_s4's choice, except on Helium: there the optimized kernel's
    results differ from TFLM (v7.0.0 under QEMU mps3-an547, on every shape tried; the kernel is the same in
    the pinned main), so those
    layers run in the generic kernel, which is plain C on every path."""
    if s.in_d == s.out_d and s.batches == 1 and (s.dilation_w, s.dilation_h) == (1, 1) and isa != "mve":
        return "arm_depthwise_conv_s4_opt"
    return "arm_depthwise_conv_s4"


def depthwise_scratch_bytes(s: ConvWindow, isa: str) -> int:
    if depthwise_function(s, isa) != "arm_depthwise_conv_s4_opt":
        return 0
    return s.in_d * s.filter_w * s.filter_h * 2  # the s4 kernel buffers int16 columns on pure C too


def _clipped(s: ConvWindow) -> bool:
    """Some window reaches past the input (padding, or SAME's extra row/column at the end)."""
    return bool(s.pad_h or s.pad_w
                or (s.out_h - 1) * s.stride_h + (s.filter_h - 1) * s.dilation_h >= s.in_h
                or (s.out_w - 1) * s.stride_w + (s.filter_w - 1) * s.dilation_w >= s.in_w)


def _depthwise_reason(k: Lowered, isa: str) -> str | None:
    s = k.params.as_conv()
    # the generic kernel (v7.0.0, the same in the pinned main) walks the packed filter of an odd input
    # depth one tap at a time, assuming every tap of every window is visited and one output channel
    # per input channel
    if depthwise_function(s, isa) == "arm_depthwise_conv_s4" and s.in_d % 2:
        if s.out_d != s.in_d:
            return "arm_depthwise_conv_s4 misreads the packed filter of an odd input depth with a depth multiplier"
        if _clipped(s):
            return "arm_depthwise_conv_s4 misreads the packed filter of an odd input depth at padded windows"
    return window_limits(k.params) or too_large(s.out_d)


def _conv_reason(k: Lowered, isa: str) -> str | None:
    p = k.params
    if p.in_d != p.filter_d:
        return "grouped convolution: CMSIS-NN's s4 convolutions take no groups"
    return window_limits(p) or too_large(p.in_d, p.out_d)


def _fc_reason(k: Lowered) -> str | None:
    if k.params.filter_offset:
        return "int4 weights with a zero point: arm_fully_connected_s4 ignores the filter offset"
    return too_large(k.params.accum_depth, k.params.output_depth)


KERNELS = [
    Kernel(name="conv_2d_s4", template="cmsis_nn/conv_2d_s4.c.j2", uses=("filter", "multiplier", "bias"),
           derived=lambda k, t: (shift32(k),), applies=lambda k, t: _conv_reason(k, t.isa),
           function=lambda k, t: conv_function(k.params, t.isa),
           scratch=lambda k, t: conv_scratch_bytes(k.params, t.isa), inplace=by_function,
           doc="no groups; extents up to 65535; Helium 1xN rows with an odd depth run the general kernel"),
    Kernel(name="depthwise_conv_2d_s4", template="cmsis_nn/depthwise_conv_2d_s4.c.j2",
           uses=("filter", "multiplier", "bias"), derived=lambda k, t: (shift32(k),),
           applies=lambda k, t: _depthwise_reason(k, t.isa),
           function=lambda k, t: depthwise_function(k.params.as_conv(), t.isa),
           scratch=lambda k, t: depthwise_scratch_bytes(k.params.as_conv(), t.isa), inplace=by_function,
           doc="an odd input depth only without multiplier and without padded windows"),
    # per tensor: the multiplier and shift are inlined in the call's parameters, no extra arrays
    Kernel(name="fully_connected_s4", template="cmsis_nn/fully_connected_s4.c.j2", uses=("filter", "bias"),
           applies=lambda k, t: _fc_reason(k), function=lambda k, t: "arm_fully_connected_s4", inplace=by_function,
           doc="weights without a zero point"),
]
