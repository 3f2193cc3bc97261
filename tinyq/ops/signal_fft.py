"""TFLM's signal-library FFT ops: SignalFftAutoScale, SignalRfft and SignalIrfft.

FFT_AUTO_SCALE (signal/src/fft_auto_scale.cc) shifts int16 samples left so the largest magnitude
uses int16's range, and outputs the shift (int32 scalar) that FILTER_BANK_SQUARE_ROOT later undoes;
its maximum is TFLM's MaxAbs16, whose int16 maximum turns -32768 into -32768 (then any later
sample above it wins), and its shift comes from GCC's most-significant-bit count (32 for 0).

RFFT and IRFFT run KISS FFT (signal/src/rfft_*.cc, irfft_*.cc): int16 (Q15), int32 (Q31) or
float32 samples per the op's "T" option, over every frame of the last dimension. RFFT zero-pads
each frame to fft_length and writes fft_length / 2 + 1 complex bins (real, imaginary
interleaved); IRFFT reads fft_length / 2 + 1 bins per frame and writes fft_length samples (the
float one divided by fft_length). The tables are computed offline (signal_kissfft.py) and kept in
flash; the kernel's working buffer (fft_length / 2 complex values, TFLM's kiss_fftr tmpbuf) is
scratch in the arena.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import DTYPES, Graph, Operator
from tinyq.ops.base import ConstArray, Kernel, Lowered, OpSpec, Target, reference_kernel, unsupported
from tinyq.ops.signal_common import (RE_EXPORT, counts, custom, int32, read_options, require_dtype, require_rank,
                                     tensor_type)
from tinyq.ops.signal_kissfft import factors, input_order, super_twiddles, twiddles, unsupported_radix

AUTO_SCALE, AUTO_SCALE_BUILTIN = custom("SignalFftAutoScale")
RFFT, RFFT_BUILTIN = custom("SignalRfft")
IRFFT, IRFFT_BUILTIN = custom("SignalIrfft")
SUFFIX = {"int16": "s16", "int32": "s32", "float32": "f32"}
C_SCALAR = {"int16": "int16_t", "int32": "int32_t", "float32": "float"}
MAX_POINTS = 65536  # the input order is a uint16 table


@dataclass(frozen=True)
class AutoScaleParams:
    count: int


@dataclass(frozen=True)
class FftParams:
    dtype: str  # int16, int32 or float32
    fft_length: int
    points: int  # complex points of the inner FFT: fft_length / 2
    stages: int
    frames: int
    in_frame: int  # input values per frame (RFFT: samples, zero-padded; IRFFT: 2 * complex bins)
    out_frame: int  # output values per frame
    scratch_bytes: int


def lower_auto_scale(graph: Graph, op: Operator) -> Lowered:
    (x,), (y, scale) = counts(graph, op, 1, 2)
    for t, rank, dtype, role in ((x, 1, "int16", "input"), (y, 1, "int16", "output"),
                                 (scale, 0, "int32", "scale bits")):
        require_rank(graph, op, t, rank, role)
        require_dtype(graph, op, t, dtype, role)
    if y.numel != x.numel:
        raise unsupported(graph, op, f"output holds {y.numel} samples, input {x.numel} (TFLM scales as many as the "
                                     "output holds, reading past a shorter input)", RE_EXPORT)
    return Lowered(op=op, kernel="signal_fft_auto_scale", params=AutoScaleParams(count=x.numel), inputs=(x.index,),
                   outputs=(y.index, scale.index))


def _fft_length(graph: Graph, op: Operator) -> tuple[str, int]:
    options = read_options(graph, op, ("T", "fft_length"))
    dtype, length = tensor_type(graph, op, options), int32(options["fft_length"])
    if length < 2 or length % 2:
        raise unsupported(graph, op, f"fft_length is {length}; KISS FFT's real transform needs an even length "
                                     "(its alloc fails otherwise and TFLM crashes)", RE_EXPORT)
    radix = unsupported_radix(length // 2)
    if radix is not None:
        raise unsupported(graph, op, f"fft_length {length} factors into radix {radix}; TFLM's KISS FFT has "
                                     "butterflies for 2, 3, 4 and 5 only (its generic one crashes in TFLM)",
                          "use an fft_length of the form 2 * 2^a * 3^b * 5^c")
    if length // 2 > MAX_POINTS:
        raise unsupported(graph, op, f"fft_length {length} is above tinyq's {2 * MAX_POINTS}",
                          "microcontroller FFTs are far shorter")
    return dtype, length


def _tables(dtype: str, n: int, inverse: bool) -> tuple[ConstArray, ...]:
    stages = np.array(factors(n), dtype=np.int32).reshape(-1)
    return (ConstArray("factors", "int32_t", stages),
            ConstArray("order", "uint16_t", input_order(n).astype(np.uint16)),
            ConstArray("twiddles", C_SCALAR[dtype], twiddles(n, inverse, dtype).reshape(-1)),
            ConstArray("super", C_SCALAR[dtype], super_twiddles(n, inverse, dtype).reshape(-1)))


def _frames(graph: Graph, op: Operator, x, y, dtype: str, out_frame: int, what: str) -> int:
    for t, role in ((x, "input"), (y, "output")):
        require_dtype(graph, op, t, dtype, role)
    if len(x.shape) != len(y.shape) or not x.shape:
        raise unsupported(graph, op, f"input rank {len(x.shape)} and output rank {len(y.shape)} differ (TFLM's "
                                     "Prepare requires them equal)", RE_EXPORT)
    frames = x.numel // x.shape[-1]
    if y.shape[-1] != out_frame or y.numel // out_frame != frames:
        raise unsupported(graph, op, f"output {list(y.shape)} does not hold {frames} frame(s) of {out_frame} "
                                     f"values: TFLM writes {what}", RE_EXPORT)
    return frames


def _lower_fft(graph: Graph, op: Operator, inverse: bool) -> Lowered:
    (x,), (y,) = counts(graph, op, 1, 1)
    dtype, length = _fft_length(graph, op)
    n = length // 2
    if inverse:
        if x.shape and (x.shape[-1] % 2 or x.shape[-1] < length + 2):
            raise unsupported(graph, op, f"input frames of {x.shape[-1] if x.shape else 0} values; TFLM's IRFFT "
                                         f"reads {n + 1} complex bins ({length + 2} values) from each", RE_EXPORT)
        frames = _frames(graph, op, x, y, dtype, length, f"{length} samples per frame")
    else:
        if x.shape and x.shape[-1] > length:
            raise unsupported(graph, op, f"input frames of {x.shape[-1]} samples are longer than fft_length {length} "
                                         "(TFLM's zero padding would be negative)", RE_EXPORT)
        frames = _frames(graph, op, x, y, dtype, length + 2, f"{n + 1} complex bins ({length + 2} values) per frame")
    item = DTYPES[dtype][1]
    params = FftParams(dtype=dtype, fft_length=length, points=n, stages=len(factors(n)), frames=frames,
                       in_frame=x.shape[-1], out_frame=y.shape[-1], scratch_bytes=2 * n * item)
    return Lowered(op=op, kernel="signal_irfft" if inverse else "signal_rfft", params=params, inputs=(x.index,),
                   outputs=(y.index,), consts=_tables(dtype, n, inverse))


def lower_rfft(graph: Graph, op: Operator) -> Lowered:
    return _lower_fft(graph, op, inverse=False)


def lower_irfft(graph: Graph, op: Operator) -> Lowered:
    return _lower_fft(graph, op, inverse=True)


def _scratch(k: Lowered, target: Target) -> int:
    return k.params.scratch_bytes


def _kernel(name: str) -> Kernel:
    return Kernel(name=name, template=f"reference/{name}.c.j2", scratch=_scratch)


_FFT_DOC = ("int16 (Q15), int32 (Q31) or float32 per its T option, KISS FFT's arithmetic and tables as TFLM builds "
            "them, fft_length 2 * 2^a * 3^b * 5^c, any number of frames")
SPECS = [
    OpSpec(name=AUTO_SCALE, builtin=AUTO_SCALE_BUILTIN, lower=lower_auto_scale,
           kernels=(reference_kernel("signal_fft_auto_scale"),),
           doc="int16 vector, int32 shift output; TFLM's MaxAbs16 and most-significant-bit count"),
    OpSpec(name=RFFT, builtin=RFFT_BUILTIN, lower=lower_rfft, kernels=(_kernel("signal_rfft"),),
           doc=_FFT_DOC + "; frames zero-padded to fft_length"),
    OpSpec(name=IRFFT, builtin=IRFFT_BUILTIN, lower=lower_irfft, kernels=(_kernel("signal_irfft"),),
           doc=_FFT_DOC + "; the float one divided by fft_length as TFLM's"),
]
