/* Fixed-point helpers of TFLM's 16x8 kernels (int16 activations, int8 weights). */
#ifndef TQ_COMMON_S16_H
#define TQ_COMMON_S16_H
#include "tq_common.h"

/* TFLite's MultiplyByQuantizedMultiplier for an int64 accumulator (double-rounding build):
 * the Q31 multiplier is first rounded to Q15 (saturating at 0x7FFF), then one rounding
 * shift by 15 - shift. shift is at most 14 (lowering refuses more: TFLM's shift is then
 * undefined). The product is taken modulo 2^64, which TFLM's int64 product equals
 * wherever it is defined, and the result truncated to int32 as TFLM's conversion does. */
static inline int32_t tq_mbqm64(int64_t x, int32_t multiplier, int shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total = 15 - shift;
  const uint64_t sum = (uint64_t)x * (uint64_t)reduced + ((uint64_t)1 << (total - 1));
  return (int32_t)(uint32_t)(uint64_t)((int64_t)sum >> total);
}

/* Sum of n products x[i] * w[i] with int16 x and int8 w, exactly: each product is below
 * 2^22 in magnitude, so 256 of them fit an int32 before it joins the int64 sum. */
static inline int64_t tq_dot_s16(const int16_t *x, const int8_t *w, int32_t n) {
  int64_t acc = 0;
  while (n > 0) {
    const int32_t m = n < 256 ? n : 256;
    int32_t s = 0;
    for (int32_t i = 0; i < m; ++i) s += (int32_t)x[i] * w[i];
    acc += s;
    x += m;
    w += m;
    n -= m;
  }
  return acc;
}

/* The same sum taken modulo 2^32: TFLM's int32 accumulator (a 16x8 op with an int32 bias). */
static inline uint32_t tq_dot_s16_wrap(const int16_t *x, const int8_t *w, int32_t n) {
  uint32_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += (uint32_t)((int32_t)x[i] * w[i]);
  return s;
}

#endif
