#include "tq_libm_f32.h"
#include "tq_exp_f64.h" /* tq_fma_f64: glibc's FMA build rounds these products once */

#include <math.h> /* INFINITY only: no libm function is called */

/* Each function follows glibc's algorithm step by step; where glibc's FMA build fuses a
 * multiply and an add (read from the disassembly of glibc 2.36's libm.so.6), the line calls
 * tq_fma_f64, a hardware FMA where the target has one (__FP_FAST_FMA), exact emulation
 * elsewhere. Everything else is plain IEEE float/double arithmetic in the order glibc writes
 * it. tests/test_float_libm.py compares every function with the host's glibc. */

static uint64_t bits64(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static double of_bits64(uint64_t u) {
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static uint32_t abstop12(float x) { return (tq_f32_bits(x) >> 20) & 0x7ff; }

static float default_nan(void) { return tq_f32_of_bits(TQ_F32_DEFAULT_NAN_BITS); }

/* --- expf: 2^(k/32) from a table times a cubic in r, x = k ln2/32 + r --- */

static const uint64_t kExp2fTable[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540};
static const double kExpfInvLn2N = 0x1.71547652b82fep+5; /* 32 / ln2 */
static const double kExpfShift = 0x1.8p+52;
static const double kExpfC0 = 0x1.c6af84b912394p-20, kExpfC1 = 0x1.ebfce50fac4f3p-13,
                    kExpfC2 = 0x1.62e42ff0c52d6p-6;

float tq_expf(float x) {
  const double xd = (double)x;
  if (abstop12(x) >= abstop12(88.0f)) {
    if (tq_f32_bits(x) == 0xff800000u) return 0.0f; /* -inf */
    if (abstop12(x) >= abstop12(INFINITY)) return tq_isnan_f32(x) ? tq_quiet_f32(x) : x;
    if (x > 0x1.62e42ep6f) return 0x1p97f * 0x1p97f;      /* overflow: inf */
    if (x < -0x1.9fe368p6f) return 0x1p-95f * 0x1p-95f;   /* underflow: 0 */
    if (x < -0x1.9d1d9ep6f) return 0x1.4p-75f * 0x1.4p-75f; /* may underflow: the least subnormal */
  }
  double kd = tq_fma_f64(kExpfInvLn2N, xd, kExpfShift); /* k in the low bits */
  const uint64_t ki = bits64(kd);
  kd -= kExpfShift;
  const double r = tq_fma_f64(kExpfInvLn2N, xd, -kd);
  const double s = of_bits64(kExp2fTable[ki % 32] + (ki << 47));
  const double z = tq_fma_f64(kExpfC0, r, kExpfC1);
  const double r2 = r * r;
  double y = tq_fma_f64(kExpfC2, r, 1.0);
  y = tq_fma_f64(z, r2, y);
  y = y * s;
  return (float)y;
}

/* --- logf: x = 2^k z, log(x) = log1p(z/c - 1) + log(c) + k ln2 with c from a 16-entry table --- */

static const double kLogfInvc[16] = {
    0x1.661ec79f8f3bep+0, 0x1.571ed4aaf883dp+0, 0x1.49539f0f010bp+0,  0x1.3c995b0b80385p+0,
    0x1.30d190c8864a5p+0, 0x1.25e227b0b8eap+0,  0x1.1bb4a4a1a343fp+0, 0x1.12358f08ae5bap+0,
    0x1.0953f419900a7p+0, 0x1p+0,               0x1.e608cfd9a47acp-1, 0x1.ca4b31f026aap-1,
    0x1.b2036576afce6p-1, 0x1.9c2d163a1aa2dp-1, 0x1.886e6037841edp-1, 0x1.767dcf5534862p-1};
static const double kLogfLogc[16] = {
    -0x1.57bf7808caadep-2, -0x1.2bef0a7c06ddbp-2, -0x1.01eae7f513a67p-2, -0x1.b31d8a68224e9p-3,
    -0x1.6574f0ac07758p-3, -0x1.1aa2bc79c81p-3,   -0x1.a4e76ce8c0e5ep-4, -0x1.1973c5a611cccp-4,
    -0x1.252f438e10c1ep-5, 0x0p+0,                0x1.aa5aa5df25984p-5,  0x1.c5e53aa362eb4p-4,
    0x1.526e57720db08p-3,  0x1.bc2860d22477p-3,   0x1.1058bc8a07ee1p-2,  0x1.4043057b6ee09p-2};
static const double kLogfLn2 = 0x1.62e42fefa39efp-1;
static const double kLogfA0 = -0x1.00ea348b88334p-2, kLogfA1 = 0x1.5575b0be00b6ap-2,
                    kLogfA2 = -0x1.ffffef20a4123p-2;
#define TQ_LOGF_OFF 0x3f330000u

float tq_logf(float x) {
  uint32_t ix = tq_f32_bits(x);
  if (ix == 0x3f800000u) return 0.0f;
  if (ix - 0x00800000u >= 0x7f800000u - 0x00800000u) { /* below 2^-126, negative, inf or NaN */
    if (ix * 2 == 0) return -INFINITY;                   /* log(+-0) */
    if (ix == 0x7f800000u) return x;                      /* log(inf) */
    if (tq_isnan_f32(x)) return tq_quiet_f32(x);
    if (ix & 0x80000000u) return default_nan();           /* (x - x) / (x - x) */
    ix = tq_f32_bits(x * 0x1p23f);                         /* subnormal: scale to normal */
    ix -= 23u << 23;
  }
  const uint32_t tmp = ix - TQ_LOGF_OFF;
  const int i = (int)((tmp >> 19) % 16);
  const int32_t k = (int32_t)tmp >> 23; /* arithmetic shift, as glibc */
  const uint32_t iz = ix - (tmp & 0xff800000u);
  const double z = (double)tq_f32_of_bits(iz);
  const double r = tq_fma_f64(z, kLogfInvc[i], -1.0);
  const double y0 = tq_fma_f64((double)k, kLogfLn2, kLogfLogc[i]);
  const double r2 = r * r;
  double y = tq_fma_f64(kLogfA1, r, kLogfA2);
  y = tq_fma_f64(kLogfA0, r2, y);
  y = tq_fma_f64(y, r2, r + y0);
  return (float)y;
}

/* --- sinf, cosf: reduction by pi/2 (one fused multiply-subtract below 120, 4/pi to 192 bits
 * above), then a sine or cosine polynomial by quadrant --- */

typedef struct {
  double sign[4];
  double hpi_inv, hpi; /* 2^24 * 2/pi, pi/2 */
  double c0, c1, c2, c3, c4, s1, s2, s3;
} tq_sincosf_t;

/* The second entry computes -cos(x), so quadrants 2 and 3 need no negation. */
static const tq_sincosf_t kSinCosf[2] = {
    {{1.0, -1.0, -1.0, 1.0}, 0x1.45f306dc9c883p+23, 0x1.921fb54442d18p+0,
     0x1p+0, -0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16,
     -0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
    {{1.0, -1.0, -1.0, 1.0}, 0x1.45f306dc9c883p+23, 0x1.921fb54442d18p+0,
     -0x1p+0, 0x1.ffffffd0c621cp-2, -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16,
     -0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13}};

/* 4/pi to 192 bits, 8 new bits per entry */
static const uint32_t kInvPio4[24] = {
    0xa2,       0xa2f9,     0xa2f983,   0xa2f9836e, 0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
    0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1, 0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
    0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041};
static const double kPi63 = 0x1.921fb54442d18p-62; /* 2 pi 2^-64 */

/* The sine (n even) or cosine (n odd) polynomial of x, x2 = x * x. */
static float sinf_poly(double x, double x2, const tq_sincosf_t *p, int n) {
  if ((n & 1) == 0) {
    const double x3 = x * x2;
    const double s1 = tq_fma_f64(x2, p->s3, p->s2);
    const double x7 = x3 * x2;
    const double s = tq_fma_f64(x3, p->s1, x);
    return (float)tq_fma_f64(s1, x7, s);
  }
  const double x4 = x2 * x2;
  const double c2 = tq_fma_f64(x2, p->c4, p->c3);
  const double c1 = tq_fma_f64(x2, p->c1, p->c0);
  const double x6 = x4 * x2;
  const double c = tq_fma_f64(x4, p->c2, c1);
  return (float)tq_fma_f64(c2, x6, c);
}

static double reduce_fast(double x, const tq_sincosf_t *p, int *np) {
  const double r = x * p->hpi_inv;
  const int n = ((int32_t)r + 0x800000) >> 24; /* quadrant in bits 24..31 */
  *np = n;
  return tq_fma_f64(-(double)n, p->hpi, x);
}

static double reduce_large(uint32_t xi, int *np) {
  const uint32_t *arr = &kInvPio4[(xi >> 26) & 15];
  const int shift = (xi >> 23) & 7;
  xi = (xi & 0xffffff) | 0x800000;
  xi <<= shift;
  uint64_t res0 = (uint64_t)(uint32_t)(xi * arr[0]);
  const uint64_t res1 = (uint64_t)xi * arr[4];
  const uint64_t res2 = (uint64_t)xi * arr[8];
  res0 = (res2 >> 32) | (res0 << 32);
  res0 += res1;
  const uint64_t n = (res0 + (1ull << 61)) >> 62;
  res0 -= n << 62;
  *np = (int)n;
  return (double)(int64_t)res0 * kPi63;
}

/* sin (cos_shift 0) or cos (cos_shift 1) of y */
static float sincosf_one(float y, int cos_shift) {
  double x = y;
  int n;
  const tq_sincosf_t *p = &kSinCosf[0];
  if (abstop12(y) < abstop12(0x1.921fb6p-1f)) { /* |y| < pi/4 */
    if (abstop12(y) < abstop12(0x1p-12f)) return cos_shift ? 1.0f : y;
    return sinf_poly(x, x * x, p, cos_shift);
  }
  if (abstop12(y) < abstop12(120.0f)) {
    x = reduce_fast(x, p, &n);
    const double s = p->sign[n & 3];
    if (n & 2) p = &kSinCosf[1];
    return sinf_poly(x * s, x * x, p, n ^ cos_shift);
  }
  if (abstop12(y) < abstop12(INFINITY)) {
    const uint32_t xi = tq_f32_bits(y);
    const int sign = (int)(xi >> 31);
    x = reduce_large(xi, &n);
    const double s = p->sign[(n + sign) & 3];
    if ((n + sign) & 2) p = &kSinCosf[1];
    return sinf_poly(x * s, x * x, p, n ^ cos_shift);
  }
  return tq_isnan_f32(y) ? tq_quiet_f32(y) : default_nan(); /* inf: invalid */
}

float tq_sinf(float x) { return sincosf_one(x, 0); }
float tq_cosf(float x) { return sincosf_one(x, 1); }

/* --- tanhf: fdlibm's float code over its expm1f, all in float --- */

float tq_expm1f(float x) {
  static const float ln2_hi = 6.9313812256e-01f, ln2_lo = 9.0580006145e-06f, invln2 = 1.4426950216e+00f;
  static const float q1 = -3.3333335072e-02f, q2 = 1.5873016091e-03f, q3 = -7.9365076090e-05f,
                     q4 = 4.0082177293e-06f, q5 = -2.0109921195e-07f;
  const uint32_t bits = tq_f32_bits(x);
  const int negative = (bits >> 31) != 0;
  const uint32_t hx = bits & 0x7fffffffu;
  float hi, lo, c = 0.0f;
  int32_t k;
  if (hx >= 0x4195b844u) { /* |x| >= 27 ln2 */
    if (hx >= 0x42b17218u) {
      if (hx > 0x7f800000u) return tq_quiet_f32(x);
      if (hx == 0x7f800000u) return negative ? -1.0f : x;
      if (x > 8.8721679688e+01f) return 1.0e30f * 1.0e30f; /* overflow */
    }
    if (negative) return 1.0e-30f - 1.0f; /* -1 */
  }
  if (hx > 0x3eb17218u) { /* |x| > 0.5 ln2: x = k ln2 + r */
    if (hx < 0x3f851592u) { /* and < 1.5 ln2 */
      if (!negative) { hi = x - ln2_hi; lo = ln2_lo; k = 1; }
      else { hi = x + ln2_hi; lo = -ln2_lo; k = -1; }
    } else {
      k = (int32_t)(invln2 * x + (negative ? -0.5f : 0.5f));
      const float t = (float)k;
      hi = x - t * ln2_hi;
      lo = t * ln2_lo;
    }
    x = hi - lo;
    c = (hi - x) - lo;
  } else if (hx < 0x33000000u) { /* |x| < 2^-25 */
    return x;
  } else {
    k = 0;
  }
  const float hfx = 0.5f * x;
  const float hxs = x * hfx;
  const float r1 = 1.0f + hxs * (q1 + hxs * (q2 + hxs * (q3 + hxs * (q4 + hxs * q5))));
  float t = 3.0f - r1 * hfx;
  float e = hxs * ((r1 - t) / (6.0f - x * t));
  if (k == 0) return x - (x * e - hxs);
  e = (x * (e - c) - c);
  e -= hxs;
  if (k == -1) return 0.5f * (x - e) - 0.5f;
  if (k == 1) return x < -0.25f ? -2.0f * (e - (x + 0.5f)) : 1.0f + 2.0f * (x - e);
  float y;
  if (k <= -2 || k > 56) { /* exp(x) - 1 is exp(x) */
    y = 1.0f - (e - x);
    if (k == 128) y = y * 2.0f * 0x1p127f;
    else y = tq_f32_of_bits(tq_f32_bits(y) + ((uint32_t)k << 23));
    return y - 1.0f;
  }
  if (k < 23) {
    t = tq_f32_of_bits(0x3f800000u - (0x1000000u >> k)); /* 1 - 2^-k */
    y = t - (e - x);
  } else {
    t = tq_f32_of_bits((uint32_t)(0x7f - k) << 23); /* 2^-k */
    y = x - (e + t);
    y += 1.0f;
  }
  return tq_f32_of_bits(tq_f32_bits(y) + ((uint32_t)k << 23));
}

float tq_tanhf(float x) {
  const uint32_t jx = tq_f32_bits(x);
  const uint32_t ix = jx & 0x7fffffffu;
  float z;
  if (ix > 0x7f800000u) return tq_quiet_f32(x);
  if (ix == 0x7f800000u) return (jx >> 31) ? -1.0f : 1.0f;
  if (ix < 0x41b00000u) { /* |x| < 22 */
    if (ix < 0x24000000u) return x * (1.0f + x); /* |x| < 2^-55 */
    const float ax = tq_f32_of_bits(ix);
    if (ix >= 0x3f800000u) { /* |x| >= 1 */
      const float t = tq_expm1f(2.0f * ax);
      z = 1.0f - 2.0f / (t + 2.0f);
    } else {
      const float t = tq_expm1f(-2.0f * ax);
      z = -t / (t + 2.0f);
    }
  } else {
    z = 1.0f - 1.0e-30f; /* +-1 */
  }
  return (jx >> 31) ? -z : z;
}

/* --- exact functions: integer arithmetic, no FPU instruction needed --- */

/* Correctly rounded square root: 25 bits of the integer root of a 24-bit-aligned mantissa, the
 * remainder as sticky bit (a tie cannot happen: a 25-bit root that is exact is even). */
float tq_sqrtf(float x) {
  const uint32_t u = tq_f32_bits(x);
  if (tq_isnan_f32(x)) return tq_quiet_f32(x);
  if ((u & 0x7fffffffu) == 0 || u == 0x7f800000u) return x; /* +-0, +inf */
  if (u >> 31) return default_nan();
  int32_t e = (int32_t)(u >> 23);
  uint64_t m = u & 0x7fffffu;
  if (e == 0) { /* subnormal */
    e = 1;
    while (!(m & 0x800000u)) { m <<= 1; --e; }
  } else {
    m |= 0x800000u;
  }
  int32_t exp2 = e - 150; /* x = m * 2^exp2, m in [2^23, 2^24) */
  if (exp2 & 1) { m <<= 1; exp2 -= 1; } else { m <<= 2; exp2 -= 2; } /* m in [2^24, 2^26), exp2 even */
  uint64_t rem = m << 24, root = 0, bit = 1ull << 50;
  while (bit > rem) bit >>= 2;
  while (bit) {
    if (rem >= root + bit) { rem -= root + bit; root = (root >> 1) + bit; }
    else root >>= 1;
    bit >>= 2;
  }
  /* sqrt(x) = root * 2^((exp2 - 24) / 2), root in [2^24, 2^25): 24 bits and a rounding bit */
  uint32_t mant = (uint32_t)(root >> 1);
  int32_t scale = (exp2 - 24) / 2 + 1;
  if ((root & 1) && (rem != 0 || (mant & 1))) ++mant;
  if (mant == 0x1000000u) { mant >>= 1; ++scale; }
  return tq_f32_of_bits(((uint32_t)(scale + 23 + 127) << 23) | (mant & 0x7fffffu));
}

float tq_floorf(float x) {
  uint32_t u = tq_f32_bits(x);
  const int32_t e = (int32_t)((u >> 23) & 0xff) - 127;
  if (e >= 23) return x; /* integral, inf or NaN (a signaling NaN too, as glibc's floorf) */
  if (e < 0) return (u >> 31) ? ((u << 1) ? -1.0f : x) : 0.0f;
  const uint32_t mask = 0x7fffffu >> e;
  if ((u & mask) == 0) return x;
  if (u >> 31) u += mask;
  return tq_f32_of_bits(u & ~mask);
}

float tq_ceilf(float x) {
  uint32_t u = tq_f32_bits(x);
  const int32_t e = (int32_t)((u >> 23) & 0xff) - 127;
  if (e >= 23) return x;
  if (e < 0) return (u >> 31) ? -0.0f : ((u << 1) ? 1.0f : x);
  const uint32_t mask = 0x7fffffu >> e;
  if ((u & mask) == 0) return x;
  if (!(u >> 31)) u += mask;
  return tq_f32_of_bits(u & ~mask);
}

double tq_floor_f64(double x) {
  uint64_t u = bits64(x);
  const int32_t e = (int32_t)((u >> 52) & 0x7ff) - 1023;
  if (e >= 52) return x;
  if (e < 0) return (u >> 63) ? ((u << 1) ? -1.0 : x) : 0.0;
  const uint64_t mask = 0x000fffffffffffffull >> e;
  if ((u & mask) == 0) return x;
  if (u >> 63) u += mask;
  return of_bits64(u & ~mask);
}

/* x - trunc(x / y) * y, exact: long division of the mantissas. Invalid cases (y == 0, x
 * infinite) give x86's default NaN, NaN operands their own NaN quieted, as glibc's
 * (x * y) / (x * y). */
float tq_fmodf(float x, float y) {
  const uint32_t ux = tq_f32_bits(x), uy = tq_f32_bits(y);
  const uint32_t sx = ux & 0x80000000u, ax = ux & 0x7fffffffu, ay = uy & 0x7fffffffu;
  if (ax > 0x7f800000u) return tq_quiet_f32(x);
  if (ay > 0x7f800000u) return tq_quiet_f32(y);
  if (ay == 0 || ax == 0x7f800000u) return default_nan();
  if (ax < ay) return x;
  if (ax == ay) return tq_f32_of_bits(sx);
  int32_t ex = (int32_t)(ax >> 23), ey = (int32_t)(ay >> 23);
  uint32_t mx = ax & 0x7fffffu, my = ay & 0x7fffffu;
  if (ex == 0) { ex = 1; while (!(mx & 0x800000u)) { mx <<= 1; --ex; } } else { mx |= 0x800000u; }
  if (ey == 0) { ey = 1; while (!(my & 0x800000u)) { my <<= 1; --ey; } } else { my |= 0x800000u; }
  for (; ex > ey; --ex) {
    if (mx >= my) mx -= my;
    mx <<= 1;
  }
  if (mx >= my) mx -= my;
  if (mx == 0) return tq_f32_of_bits(sx);
  while (!(mx & 0x800000u)) { mx <<= 1; --ex; }
  if (ex > 0) return tq_f32_of_bits(sx | ((uint32_t)ex << 23) | (mx & 0x7fffffu));
  return tq_f32_of_bits(sx | (mx >> (1 - ex))); /* subnormal: exact, the shifted-out bits are 0 */
}
