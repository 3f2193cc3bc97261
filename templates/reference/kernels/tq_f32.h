/* What tinyq's float32 kernels share with TFLM's reference float kernels: the fused
 * activation clamp with std::max/std::min's exact comparisons (a NaN passes through,
 * -0.0 stays -0.0), and float <-> bits without aliasing. Include it first: it pulls in
 * tq_float_strict.h, so no compiler contracts a * b + c into a fused multiply-add. */
#ifndef TQ_F32_H
#define TQ_F32_H
#include "tq_float_strict.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* std::max(a, b) is (a < b) ? b : a; std::min(a, b) is (b < a) ? b : a. */
static inline float tq_max_f32(float a, float b) { return a < b ? b : a; }
static inline float tq_min_f32(float a, float b) { return b < a ? b : a; }

/* ActivationFunctionWithMinMax: min(max(x, lo), hi). With no activation lo/hi are
 * -FLT_MAX/FLT_MAX, so infinities become +-FLT_MAX, as in TFLM. */
static inline float tq_clamp_f32(float x, float lo, float hi) { return tq_min_f32(tq_max_f32(x, lo), hi); }

static inline uint32_t tq_f32_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static inline float tq_f32_of_bits(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}
#endif
