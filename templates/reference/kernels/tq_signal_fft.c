#include "tq_float_strict.h"

#include "tq_signal_fft.h"

/* KISS FFT's scalar arithmetic, once per type; tq_signal_kissfft.inc holds the algorithm.
 *
 * FIXED_POINT 16: sums are C ints stored back into int16 (modulo 2^16), products int32, sround
 * adds 2^14 and shifts by 15, C_FIXDIV(c, k) multiplies by 32767 / k. HALF_OF shifts the int
 * value right: kiss_fftr halves a sum before it is narrowed.
 * FIXED_POINT 32: int32 sums wrap (what TFLM's build does with the undefined overflow; here by
 * unsigned arithmetic), products int64, sround by 31.
 * float: plain float operations in KISS FFT's order (no contraction: tq_float_strict.h), HALF_OF
 * multiplies by 0.5f (TFLM's patch), C_FIXDIV does nothing. */

static inline int16_t s16_add(int32_t a, int32_t b) { return (int16_t)(a + b); }
static inline int16_t s16_sub(int32_t a, int32_t b) { return (int16_t)(a - b); }
static inline int16_t s16_round(int32_t x) { return (int16_t)((x + (1 << 14)) >> 15); }
static inline int16_t s16_smul(int32_t a, int32_t b) { return s16_round(a * b); }
static inline int16_t s16_fixdiv(int16_t x, int32_t k) { return s16_round((int32_t)x * (32767 / k)); }
static inline int16_t s16_half_sum(int32_t a, int32_t b) { return (int16_t)((a + b) >> 1); }
static inline int16_t s16_half_diff(int32_t a, int32_t b) { return (int16_t)((a - b) >> 1); }
static inline int32_t s16_half(int32_t x) { return x >> 1; }
static inline int16_t s16_neg(int32_t x) { return (int16_t)-x; }
static inline int16_t s16_times_minus_one(int32_t x) { return (int16_t)(x * -1); }
static inline void s16_inverse_scale(int16_t *x, int32_t count) {
  (void)x;
  (void)count;
}
static inline tq_cpx_s16_t s16_cmul(tq_cpx_s16_t a, tq_cpx_s16_t b) {
  tq_cpx_s16_t m;
  m.r = s16_round((int32_t)a.r * b.r - (int32_t)a.i * b.i);
  m.i = s16_round((int32_t)a.r * b.i + (int32_t)a.i * b.r);
  return m;
}

static inline int32_t s32_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t s32_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static inline int32_t s32_round(int64_t x) { return (int32_t)((x + (1 << 30)) >> 31); }
static inline int32_t s32_smul(int32_t a, int32_t b) { return s32_round((int64_t)a * b); }
static inline int32_t s32_fixdiv(int32_t x, int32_t k) { return s32_round((int64_t)x * (2147483647 / k)); }
static inline int32_t s32_half_sum(int32_t a, int32_t b) { return s32_add(a, b) >> 1; }
static inline int32_t s32_half_diff(int32_t a, int32_t b) { return s32_sub(a, b) >> 1; }
static inline int32_t s32_half(int32_t x) { return x >> 1; }
static inline int32_t s32_neg(int32_t x) { return (int32_t)(0u - (uint32_t)x); }
static inline int32_t s32_times_minus_one(int32_t x) { return s32_neg(x); }
static inline void s32_inverse_scale(int32_t *x, int32_t count) {
  (void)x;
  (void)count;
}
static inline tq_cpx_s32_t s32_cmul(tq_cpx_s32_t a, tq_cpx_s32_t b) {
  tq_cpx_s32_t m;
  m.r = s32_round((int64_t)a.r * b.r - (int64_t)a.i * b.i);
  m.i = s32_round((int64_t)a.r * b.i + (int64_t)a.i * b.r);
  return m;
}

static inline float f32_add(float a, float b) { return a + b; }
static inline float f32_sub(float a, float b) { return a - b; }
static inline float f32_smul(float a, float b) { return a * b; }
static inline float f32_fixdiv(float x, int32_t k) {
  (void)k;
  return x;
}
static inline float f32_half_sum(float a, float b) { return (a + b) * 0.5f; }
static inline float f32_half_diff(float a, float b) { return (a - b) * 0.5f; }
static inline float f32_half(float x) { return x * 0.5f; }
static inline float f32_neg(float x) { return -x; }
static inline float f32_times_minus_one(float x) { return x * -1.0f; } /* a NaN keeps its sign, unlike -x */
/* IrfftFloatApply divides the samples by fft_length; the integer IRFFTs leave them as they are. */
static inline void f32_inverse_scale(float *x, int32_t count) {
  for (int32_t i = 0; i < count; ++i) x[i] /= (float)count;
}
static inline tq_cpx_f32_t f32_cmul(tq_cpx_f32_t a, tq_cpx_f32_t b) {
  tq_cpx_f32_t m;
  m.r = a.r * b.r - a.i * b.i;
  m.i = a.r * b.i + a.i * b.r;
  return m;
}

#define T int16_t
#define CPX tq_cpx_s16_t
#define FN(name) name##_s16
#define OP(name) s16_##name
#include "tq_signal_kissfft.inc"
#undef T
#undef CPX
#undef FN
#undef OP

#define T int32_t
#define CPX tq_cpx_s32_t
#define FN(name) name##_s32
#define OP(name) s32_##name
#include "tq_signal_kissfft.inc"
#undef T
#undef CPX
#undef FN
#undef OP

#define T float
#define CPX tq_cpx_f32_t
#define FN(name) name##_f32
#define OP(name) f32_##name
#include "tq_signal_kissfft.inc"
#undef T
#undef CPX
#undef FN
#undef OP

/* TFLM's MaxAbs16 as written: -value is taken in int but stored in the int16 maximum, so -32768
 * leaves the maximum at -32768 and any later sample above it replaces it. */
static int16_t max_abs16(const int16_t *input, int32_t count) {
  int16_t max = 0;
  for (int32_t i = 0; i < count; ++i) {
    const int16_t value = input[i];
    if (value > max) {
      max = value;
    } else if (-value > max) {
      max = (int16_t)-value;
    }
  }
  return max;
}

/* MostSignificantBit32 as GCC builds it: 32 - clz, and 32 for 0. */
static int32_t msb32(uint32_t x) {
  if (x == 0) return 32;
  int32_t bits = 0;
  while (x) {
    x >>= 1;
    ++bits;
  }
  return bits;
}

int32_t tq_signal_fft_auto_scale(const int16_t *input, int16_t *output, int32_t count) {
  const int16_t max = max_abs16(input, count);
  int32_t scale_bits = 16 - msb32((uint32_t)(int32_t)max) - 1;
  if (scale_bits <= 0) scale_bits = 0;
  for (int32_t i = 0; i < count; ++i) output[i] = (int16_t)(input[i] * (1 << scale_bits));
  return scale_bits;
}
