#include "tq_float_strict.h"
#include "tq_exp_f64.h"

#include <math.h>
#include <string.h>

/* glibc's exp (ARM optimized-routines): x = k ln2/128 + r with |r| <= ln2/256, exp(x) =
 * 2^(k/128) (1 + tmp) with tmp a degree-5 polynomial in r. On CPUs with FMA glibc's ifunc picks
 * its FMA build, in which the compiler fused every a * b + c of the main path and of the k > 0
 * overflow step (read from glibc 2.36's libm.so.6): those are tq_fma_f64 calls here. */

#define TQ_EXP_N 128
static const double kInvLn2N = 0x1.71547652b82fep0 * TQ_EXP_N;
static const double kNegLn2HiN = -0x1.62e42fefa0000p-8;
static const double kNegLn2LoN = -0x1.cf79abc9e3b3ap-47;
static const double kShift = 0x1.8p52;
static const double kC2 = 0x1.ffffffffffdbdp-2;
static const double kC3 = 0x1.555555555543cp-3;
static const double kC4 = 0x1.55555cf172b91p-5;
static const double kC5 = 0x1.1111167a4d017p-7;

static double as_double(uint64_t bits) {
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

static uint64_t as_bits(double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  return bits;
}

/* Exact products and sums (error-free transformations): a * b == *hi + *lo, a + b == *hi + *lo. */
static void two_product(double a, double b, double *hi, double *lo) {
  const double split = 134217729.0; /* 2^27 + 1: Veltkamp's split into two 26-bit halves */
  const double ca = split * a, cb = split * b;
  const double ah = ca - (ca - a), al = a - ah;
  const double bh = cb - (cb - b), bl = b - bh;
  *hi = a * b;
  *lo = ((ah * bh - *hi) + ah * bl + al * bh) + al * bl;
}

static void two_sum(double a, double b, double *hi, double *lo) {
  const double s = a + b;
  const double bb = s - a;
  *hi = s;
  *lo = (a - (s - bb)) + (b - bb);
}

/* a + b rounded to odd: when inexact, the neighbour whose last mantissa bit is 1. */
static double add_round_to_odd(double a, double b) {
  double s, e;
  two_sum(a, b, &s, &e);
  uint64_t bits = as_bits(s);
  if (e != 0.0 && (bits & 1u) == 0) {
    bits += ((e > 0.0) == (s > 0.0)) ? 1 : (uint64_t)-1;
    s = as_double(bits);
  }
  return s;
}

/* Boldo and Melquiond's emulated FMA (IEEE Trans. Computers 57(4), 2008): exact when no
 * intermediate overflows or underflows, which holds for every call below. A target with a
 * fused multiply-add instruction (__FP_FAST_FMA) computes the same value in one. */
double tq_fma_f64(double a, double b, double c) {
#ifdef __FP_FAST_FMA
  return __builtin_fma(a, b, c);
#else
  double uh, ul, th, tl;
  two_product(a, b, &uh, &ul);
  two_sum(c, uh, &th, &tl);
  return th + add_round_to_odd(tl, ul);
#endif
}

static uint32_t top12(double x) {
  return (uint32_t)(as_bits(x) >> 52);
}

/* Results near overflow or in the subnormal range (512 <= |x| < 1024): glibc's specialcase.
 * Its k < 0 branch shares one rounded product scale * tmp between two sums (nothing fused). */
static double special_case(double tmp, uint64_t sbits, uint64_t ki) {
  if ((ki & 0x80000000u) == 0) { /* k > 0: the scale's exponent may have overflowed by <= 460 */
    sbits -= 1009ull << 52;
    const double scale = as_double(sbits);
    return 0x1p1009 * tq_fma_f64(scale, tmp, scale);
  }
  sbits += 1022ull << 52; /* k < 0: round once to the subnormal precision */
  const double scale = as_double(sbits);
  const double product = scale * tmp;
  double y = scale + product;
  if (y < 1.0) {
    double lo = scale - y + product;
    const double hi = 1.0 + y;
    lo = 1.0 - hi + y + lo;
    y = (hi + lo) - 1.0;
    if (y == 0.0) y = 0.0; /* never -0.0 */
  }
  return 0x1p-1022 * y;
}

double tq_exp_f64(double x, const int64_t *table) {
  uint32_t abstop = top12(x) & 0x7ff;
  if (abstop - top12(0x1p-54) >= top12(512.0) - top12(0x1p-54)) {
    if (abstop - top12(0x1p-54) >= 0x80000000u) return 1.0 + x; /* |x| < 2^-54 */
    if (abstop >= top12(1024.0)) {
      if (as_bits(x) == as_bits(-HUGE_VAL)) return 0.0;
      if (abstop >= top12(HUGE_VAL)) return 1.0 + x; /* +inf, NaN */
      return (as_bits(x) >> 63) ? 0.0 : HUGE_VAL;
    }
    abstop = 0; /* 512 <= |x| < 1024: special_case below */
  }
  double kd = tq_fma_f64(x, kInvLn2N, kShift); /* k = round(x * 128 / ln2) in the low mantissa bits */
  const uint64_t ki = as_bits(kd);
  kd -= kShift;
  const double r = tq_fma_f64(kd, kNegLn2LoN, tq_fma_f64(kd, kNegLn2HiN, x));
  const uint64_t idx = 2 * (ki % TQ_EXP_N);
  const uint64_t top = ki << (52 - 7);
  const double tail = as_double((uint64_t)table[idx]);
  const uint64_t sbits = (uint64_t)table[idx + 1] + top;
  const double r2 = r * r;
  /* tail + r + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5), fused as glibc's FMA build */
  const double low = tq_fma_f64(tq_fma_f64(r, kC3, kC2), r2, tail + r);
  const double tmp = tq_fma_f64(r2 * r2, tq_fma_f64(r, kC5, kC4), low);
  if (abstop == 0) return special_case(tmp, sbits, ki);
  const double scale = as_double(sbits);
  return tq_fma_f64(scale, tmp, scale);
}
