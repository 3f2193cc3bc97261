"""float32 C-library functions exactly as glibc computes them, for Prepare-time tables.

TFLM (and LiteRT) build some int8 lookup tables at Prepare time with std::exp, std::erfc or
std::tanh of a float: expf, erfcf, tanhf from the C library their Python wheels link (glibc
on Linux x86-64). None of these is correctly rounded, so rounding exp() or erf() computed in
double would give other floats for some inputs, and other table entries for some scales. These
are the C library's own algorithms, step by step in numpy float32 (IEEE single, the SSE
arithmetic of glibc's x86-64 build) and float64 where the C code uses double:

- expf: ARM optimized-routines (glibc >= 2.27, newlib): a 32-entry table of 2^(k/32), a cubic
  in double. Equal to glibc 2.36's expf on every float32 in [-110, 89] but two inputs
  (-0x1.f8cbb2p+5, 0x1.04845ep+5), where the FMA build glibc picks on FMA-capable x86-64
  fuses r = z - kd.
- expm1f, tanhf, erfcf: the Sun fdlibm float versions glibc 2.36 still ships (sysdeps/
  ieee754/flt-32), erfcf calling the expf above. glibc 2.41 and later replace some with
  correctly rounded CORE-MATH code, newlib keeps fdlibm: a table made on such a system can
  differ in rare entries.

Checked against glibc 2.36 on x86-64: expf on every float32 in [-110, 89], expm1f, tanhf and
erfcf on every 13th float32 bit pattern (331 million inputs each), no difference.
tests/test_libm_f32.py compares each with the host's C library when that is glibc.
"""

from __future__ import annotations

import numpy as np

F = np.float32


def _f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def _bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.int32).astype(np.int64)


def _from_bits(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.int64).astype(np.uint32).view(np.float32)


# --- expf: ARM optimized-routines, EXP2F_TABLE_BITS = 5 ---

_EXP2F_TABLE = np.array([
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540], dtype=np.uint64)
_EXPF_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * 32
_EXPF_SHIFT = float.fromhex("0x1.8p+52")
_EXPF_POLY = (float.fromhex("0x1.c6af84b912394p-5") / 32 / 32 / 32, float.fromhex("0x1.ebfce50fac4f3p-3") / 32 / 32,
              float.fromhex("0x1.62e42ff0c52d6p-1") / 32)
_EXPF_UNDERFLOW = float(F(float.fromhex("-0x1.9fe368p6")))  # below it expf returns 0
_EXPF_OVERFLOW = float(F(float.fromhex("0x1.62e42ep6")))  # above it, inf


def expf(x) -> np.ndarray:
    x = _f32(x)
    xd = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        z = _EXPF_INV_LN2_N * xd
        kd = z + _EXPF_SHIFT  # rounds z to an integer k (in the low bits of kd)
        ki = kd.view(np.uint64)
        kd = kd - _EXPF_SHIFT
        r = z - kd
        s = (_EXP2F_TABLE[ki % np.uint64(32)] + (ki << np.uint64(47))).view(np.float64)
        c0, c1, c2 = _EXPF_POLY
        y = (c0 * r + c1) * (r * r) + (c2 * r + 1.0)
        result = (y * s).astype(np.float32)
    result = np.where(xd < _EXPF_UNDERFLOW, F(0.0), result)
    result = np.where(xd > _EXPF_OVERFLOW, F(np.inf), result)
    return np.where(np.isnan(x), x, result).astype(np.float32)


# --- expm1f (fdlibm s_expm1f.c) ---

_LN2_HI, _LN2_LO, _INV_LN2 = F(6.9313812256e-01), F(9.0580006145e-06), F(1.4426950216e+00)
_EXPM1_Q = (F(-3.3333335072e-02), F(1.5873016091e-03), F(-7.9365076090e-05), F(4.0082177293e-06),
            F(-2.0109921195e-07))


def expm1f(x) -> np.ndarray:
    x = _f32(x).copy()
    bits = _bits(x)
    negative = bits < 0
    hx = bits & 0x7FFFFFFF
    one, half = F(1.0), F(0.5)
    q1, q2, q3, q4, q5 = _EXPM1_Q
    with np.errstate(all="ignore"):
        # argument reduction: x = k ln2 + r, |r| <= 0.5 ln2, with r = hi - lo and c its rounding error
        near = (hx > 0x3EB17218) & (hx < 0x3F851592)  # 0.5 ln2 < |x| < 1.5 ln2: k = +-1
        far = hx >= 0x3F851592
        k_far = (_INV_LN2 * x + np.where(negative, -half, half)).astype(np.float32)
        k = np.where(near, np.where(negative, -1, 1), np.where(far, np.trunc(np.nan_to_num(k_far)), 0))
        k = k.astype(np.int64)
        t = k.astype(np.float32)
        hi = np.where(near, np.where(negative, x + _LN2_HI, x - _LN2_HI), x - t * _LN2_HI)
        lo = np.where(near, np.where(negative, -_LN2_LO, _LN2_LO), t * _LN2_LO)
        reduced = hi - lo
        c = np.where(near | far, (hi - reduced) - lo, F(0.0))
        xr = np.where(near | far, reduced, x).astype(np.float32)
        hfx = half * xr
        hxs = xr * hfx
        r1 = one + hxs * (q1 + hxs * (q2 + hxs * (q3 + hxs * (q4 + hxs * q5))))
        tt = F(3.0) - r1 * hfx
        e = hxs * ((r1 - tt) / (F(6.0) - xr * tt))
        result_k0 = xr - (xr * e - hxs)
        e = xr * (e - c) - c
        e = e - hxs
        result_m1 = half * (xr - e) - half
        result_p1 = np.where(xr < F(-0.25), F(-2.0) * (e - (xr + half)), one + F(2.0) * (xr - e))
        kk = np.clip(k, -200, 200)
        y_big = one - (e - xr)
        y_big = np.where(k == 128, y_big * F(2.0) * F(2.0**127), _from_bits(_bits(y_big) + (kk << 23)))
        result_big = y_big - one
        t_small = _from_bits(0x3F800000 - (0x1000000 >> np.clip(kk, 0, 31)))
        y_small = t_small - (e - xr)
        result_small = _from_bits(_bits(y_small) + (kk << 23))
        t_mid = _from_bits((0x7F - kk) << 23)
        y_mid = (xr - (e + t_mid)) + one
        result_mid = _from_bits(_bits(y_mid) + (kk << 23))
        result = np.select([k == 0, k == -1, k == 1, (k <= -2) | (k > 56), k < 23],
                           [result_k0, result_m1, result_p1, result_big, result_small], result_mid)
        result = np.where(hx < 0x33000000, x, result)  # |x| < 2^-25: x
        huge = hx >= 0x4195B844  # |x| >= 27 ln2
        result = np.where(huge & negative, F(-1.0), result)
        result = np.where((hx >= 0x42B17218) & ~negative & (x > F(8.8721679688e+01)), F(np.inf), result)
        result = np.where(np.isinf(x), np.where(negative, F(-1.0), x), result)
    return np.where(np.isnan(x), x, result).astype(np.float32)


# --- tanhf (fdlibm s_tanhf.c) ---

def tanhf(x) -> np.ndarray:
    x = _f32(x)
    bits = _bits(x)
    ix = bits & 0x7FFFFFFF
    one, two = F(1.0), F(2.0)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        t_big = expm1f(two * ax)
        z_big = one - two / (t_big + two)
        t_small = expm1f(-two * ax)
        z_small = -t_small / (t_small + two)
        z = np.where(ix >= 0x3F800000, z_big, z_small)
        z = np.where(ix >= 0x41B00000, one - F(1.0e-30), z)  # |x| >= 22: 1
        z = np.where(bits >= 0, z, -z)
        z = np.where(ix < 0x24000000, x * (one + x), z)  # |x| < 2^-55 (and +-0)
        z = np.where(np.isinf(x), np.where(bits >= 0, one, -one), z)
    return np.where(np.isnan(x), x, z).astype(np.float32)


# --- erfcf (fdlibm s_erff.c, glibc's variant) ---

_ERX = F(8.4506291151e-01)
_PP = [F(v) for v in (1.2837916613e-01, -3.2504209876e-01, -2.8481749818e-02, -5.7702702470e-03, -2.3763017452e-05)]
_QQ = [F(v) for v in (3.9791721106e-01, 6.5022252500e-02, 5.0813062117e-03, 1.3249473704e-04, -3.9602282413e-06)]
_PA = [F(v) for v in (-2.3621185683e-03, 4.1485610604e-01, -3.7220788002e-01, 3.1834661961e-01,
                      -1.1089469492e-01, 3.5478305072e-02, -2.1663755178e-03)]
_QA = [F(v) for v in (1.0642088205e-01, 5.4039794207e-01, 7.1828655899e-02, 1.2617121637e-01,
                      1.3637083583e-02, 1.1984500103e-02)]
_RA = [F(v) for v in (-9.8649440333e-03, -6.9385856390e-01, -1.0558626175e+01, -6.2375331879e+01,
                      -1.6239666748e+02, -1.8460508728e+02, -8.1287437439e+01, -9.8143291473e+00)]
_SA = [F(v) for v in (1.9651271820e+01, 1.3765776062e+02, 4.3456588745e+02, 6.4538726807e+02,
                      4.2900814819e+02, 1.0863500214e+02, 6.5702495575e+00, -6.0424413532e-02)]
_RB = [F(v) for v in (-9.8649431020e-03, -7.9928326607e-01, -1.7757955551e+01, -1.6063638306e+02,
                      -6.3756646729e+02, -1.0250950928e+03, -4.8351919556e+02)]
_SB = [F(v) for v in (3.0338060379e+01, 3.2579251099e+02, 1.5367296143e+03, 3.1998581543e+03,
                      2.5530502930e+03, 4.7452853394e+02, -2.2440952301e+01)]


def _horner(s: np.ndarray, coefficients) -> np.ndarray:
    """c0 + s*(c1 + s*(c2 + ...)), innermost first, as fdlibm writes it."""
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = c + s * acc
    return acc


def erfcf(x) -> np.ndarray:
    x = _f32(x)
    bits = _bits(x)
    ix = bits & 0x7FFFFFFF
    one, two, half = F(1.0), F(2.0), F(0.5)
    with np.errstate(all="ignore"):
        # |x| < 0.84375
        z = x * x
        y = _horner(z, _PP) / _horner(z, [one] + _QQ)
        small = np.where(bits < 0x3E800000, one - (x + x * y), half - ((x * y) + (x - half)))
        small = np.where(ix < 0x23800000, one - x, small)
        # 0.84375 <= |x| < 1.25
        s = np.abs(x) - one
        p_over_q = _horner(s, _PA) / _horner(s, [one] + _QA)
        middle = np.where(bits >= 0, (one - _ERX) - p_over_q, one + (_ERX + p_over_q))
        # 1.25 <= |x| < 28
        ax = np.abs(x)
        s = one / (ax * ax)
        r_over_s = np.where(ix < 0x4036DB6D, _horner(s, _RA) / _horner(s, [one] + _SA),
                            _horner(s, _RB) / _horner(s, [one] + _SB))
        zz = _from_bits(_bits(ax) & 0xFFFFE000)
        r = expf(-zz * zz - F(0.5625)) * expf((zz - ax) * (zz + ax) + r_over_s)
        large = np.where(bits > 0, r / ax, two - r / ax)
        large = np.where((bits < 0) & (ix >= 0x40C00000), two - F(1e-30), large)  # x < -6: 2
        result = np.select([ix < 0x3F580000, ix < 0x3FA00000, ix < 0x41E00000], [small, middle, large],
                           np.where(bits > 0, F(0.0), two))  # |x| >= 28: 0 or 2
        result = np.where(np.isinf(x), np.where(bits > 0, F(0.0), two), result)
    return np.where(np.isnan(x), x, result).astype(np.float32)
