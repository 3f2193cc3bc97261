/* Fixed-point helpers shared by tinyq's reference kernels.
 * They reproduce TFLite Micro's integer arithmetic bit for bit: gemmlowp's
 * SaturatingRoundingDoublingHighMul / RoundingDivideByPOT and TFLite's
 * double-rounding MultiplyByQuantizedMultiplier. Portable C99, no libc. */
#ifndef TQ_COMMON_H
#define TQ_COMMON_H

#include <stdint.h>
#include <string.h>

#define TQ_MAX(a, b) ((a) > (b) ? (a) : (b))
#define TQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TQ_CLAMP(x, lo, hi) TQ_MIN(TQ_MAX((x), (lo)), (hi))

/* a + b modulo 2^32. TFLM's int32 sums and zero-point additions overflow only for implausible
 * weights, biases or scales, and then wrap in practice; in C signed overflow is undefined, so the
 * kernels add that way (the same instructions, a defined result, still TFLM's). */
static inline int32_t tq_wrap_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* gemmlowp adds a nudge of 2^30 (1 - 2^30 when negative) and divides by 2^31
 * truncating toward zero; for a negative product that equals flooring
 * (ab + 2^30) / 2^31 too, so one arithmetic shift serves both signs. */
static inline int32_t tq_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  return (int32_t)(((int64_t)a * b + (1 << 30)) >> 31);
}

/* Rounds half away from zero: floor(x / 2^e) + 1 when the remainder exceeds
 * half (or equals it for x >= 0). exponent is 0..31. */
static inline int32_t tq_rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((1u << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier (double rounding). */
static inline int32_t tq_mbqm(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return tq_rdbpot(tq_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* tq_srdhm for a multiplier from QuantizeMultiplier (in [2^30, 2^31), or 0),
 * which is never INT32_MIN, so the product cannot saturate. */
static inline int32_t tq_srdhm_q(int32_t a, int32_t multiplier) {
  return (int32_t)(((int64_t)a * multiplier + (1 << 30)) >> 31);
}

/* tq_mbqm for a QuantizeMultiplier multiplier (see tq_srdhm_q). A right shift
 * rounds half away from zero: floor((high + half - (high < 0)) / 2^e), the
 * same as tq_rdbpot, in unsigned arithmetic when high >= 0 so the sum cannot
 * overflow. */
static inline int32_t tq_mbqm_q(int32_t x, int32_t multiplier, int shift) {
  if (shift > 0) return tq_srdhm_q((int32_t)((uint32_t)x << shift), multiplier);
  const int32_t high = tq_srdhm_q(x, multiplier);
  const int32_t e = -shift;
  const uint32_t half = (1u << e) >> 1;
  if (high >= 0) return (int32_t)(((uint32_t)high + half) >> e);
  return (high + (int32_t)half - (e > 0)) >> e;
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0). */
static inline int32_t tq_mbqm_small(int32_t x, int32_t multiplier, int left_shift) {
  return tq_rdbpot(tq_srdhm(x, multiplier), -left_shift);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne (shift >= 0). */
static inline int32_t tq_mbqm_big(int32_t x, int32_t multiplier, int left_shift) {
  return tq_srdhm((int32_t)((uint32_t)x << left_shift), multiplier);
}

#endif
