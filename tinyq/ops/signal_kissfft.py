"""The offline half of KISS FFT (v130, as TFLM patches and builds it for its signal library):
the factorization, the input order of the mixed-radix recursion and the twiddle tables.

TFLM's RFFT and IRFFT call kiss_fftr / kiss_fftri: a complex FFT of n = fft_length / 2 points
over the samples taken as (even, odd) pairs, then a split into the real spectrum. kiss_fft_alloc
factors n (powers of 4 first, then 2, then odd primes), fills n twiddles from libm's cos and sin
in double (rounded to Q15 or Q31 with floor(0.5 + 32767 * cos) for the fixed-point builds), and
kiss_fftr_alloc n / 2 "super twiddles" the same way. Python's math.cos and math.sin are the C
library's, the same functions TFLM's interpreter calls in the same process, so the tables here
are the values TFLM computes; the kernel keeps them in flash.

kf_work's recursion reads its input in a digit-reversed order (the m == 1 leaves copy
f[k * fstride]) and then runs one butterfly per factor, innermost first; tinyq's kernel does the
same stages in a loop after gathering the input through `input_order`. Only radix 2, 3, 4 and 5
have butterflies: others fall to kf_bfly_generic, whose scratch TFLM's patch allocates as NULL
(the interpreter crashes), so such lengths are refused.
"""

from __future__ import annotations

import math

import numpy as np

BUTTERFLIES = (2, 3, 4, 5)
PI = 3.141592653589793238462643383279502884197169399375105820974944  # kiss_fft_alloc's literal
PI_R = 3.14159265358979323846264338327  # kiss_fftr_alloc's
SAMP_MAX = {"int16": 32767, "int32": 2147483647}


def factors(n: int) -> list[tuple[int, int]]:
    """kf_factor: (radix p, remaining length m) per stage, outermost first."""
    result, p = [], 4
    floor_sqrt = math.floor(math.sqrt(float(n)))
    while True:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > floor_sqrt:
                p = n
        n //= p
        result.append((p, n))
        if n <= 1:
            return result


def input_order(n: int) -> np.ndarray:
    """out[k] = in[order[k]]: where kf_work's leaves read each output position's input."""
    order = np.zeros(n, dtype=np.int64)
    stages = factors(n)

    def work(out: int, f: int, fstride: int, level: int) -> None:
        p, m = stages[level]
        if m == 1:
            for k in range(p):
                order[out + k] = f + k * fstride
            return
        for k in range(p):
            work(out + k * m, f + k * fstride, fstride * p, level + 1)

    work(0, 0, 1, 0)
    return order


def _fixed(value: float, dtype: str) -> int:
    """KISS_FFT_COS / SIN of the fixed-point builds: floor(.5 + SAMP_MAX * value), then to the integer type."""
    return int(math.floor(0.5 + SAMP_MAX[dtype] * value))


def _cexp(phases: list[float], dtype: str) -> np.ndarray:
    """kf_cexp over `phases`, as (re, im) pairs of the scalar type."""
    if dtype == "float32":
        return np.array([(math.cos(ph), math.sin(ph)) for ph in phases], dtype=np.float32)
    np_type = np.int16 if dtype == "int16" else np.int32
    return np.array([(_fixed(math.cos(ph), dtype), _fixed(math.sin(ph), dtype)) for ph in phases], dtype=np_type)


def twiddles(n: int, inverse: bool, dtype: str) -> np.ndarray:
    """kiss_fft_alloc's n twiddles: phase -2*pi*i/n (negated for the inverse)."""
    phases = []
    for i in range(n):
        phase = -2 * PI * i / n
        phases.append(-phase if inverse else phase)
    return _cexp(phases, dtype)


def super_twiddles(n: int, inverse: bool, dtype: str) -> np.ndarray:
    """kiss_fftr_alloc's n/2 twiddles of the real split (n: the complex length)."""
    phases = []
    for i in range(n // 2):
        phase = -PI_R * (float(i + 1) / n + 0.5)
        phases.append(-phase if inverse else phase)
    return _cexp(phases, dtype) if phases else np.zeros((0, 2), dtype=_cexp([0.0], dtype).dtype)


def unsupported_radix(n: int) -> int | None:
    """A radix of n's factorization that has no butterfly (TFLM crashes on it), else None."""
    return next((p for p, _ in factors(n) if p not in BUTTERFLIES), None)
