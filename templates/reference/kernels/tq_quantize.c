#include "tq_quantize.h"

#ifdef __FAST_MATH__
#error "tq_quantize.c must be built without -ffast-math: TFLM divides by the scale, it does not multiply by its reciprocal"
#endif

/* (int32_t)std::round(x) as TFLM's host build computes it, without libm: halves
 * away from zero; NaN and values outside int32 become INT32_MIN, which is what the
 * x86 conversion TFLM's golden runs on produces (the C cast would be undefined). */
static int32_t tq_round_f32(float x) {
  if (!(x >= -2147483648.0f && x < 2147483648.0f)) return INT32_MIN;
  const int32_t t = (int32_t)x;    /* truncation toward zero, exact in this range */
  const float frac = x - (float)t; /* exact: below 2^23 the fraction is a float, above it is 0 */
  if (frac >= 0.5f) return t + 1;
  if (frac <= -0.5f) return t - 1;
  return t;
}

/* reference_ops::AffineQuantize: round(x / scale) in float, plus the zero point
 * (with int32 wrap-around, as TFLM's addition does), clamped to the type. */
static inline int32_t tq_quantize_one(const tq_quantize_params_t *p, float x, int32_t lo, int32_t hi) {
  const int32_t q = (int32_t)((uint32_t)tq_round_f32(x / p->scale) + (uint32_t)p->zero_point);
  return TQ_CLAMP(q, lo, hi);
}

void tq_quantize_f32_s8(const tq_quantize_params_t *p, const float *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) output[i] = (int8_t)tq_quantize_one(p, input[i], INT8_MIN, INT8_MAX);
}

void tq_quantize_f32_s16(const tq_quantize_params_t *p, const float *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) output[i] = (int16_t)tq_quantize_one(p, input[i], INT16_MIN, INT16_MAX);
}
