#include "tq_unary_f32.h"
#include "tq_libm_f32.h"

/* TFLM's float element functions (reference_ops and the micro kernels' own), each the same
 * expression with the same comparisons, so NaNs, infinities and signed zeros come out as there. */

static inline float neg(float x, float alpha) { (void)alpha; return -x; }
static inline float square(float x, float alpha) { (void)alpha; return x * x; }
static inline float sqrt_(float x, float alpha) { (void)alpha; return tq_sqrtf(x); }
static inline float rsqrt(float x, float alpha) { (void)alpha; return 1.0f / tq_sqrtf(x); }
static inline float exp_(float x, float alpha) { (void)alpha; return tq_expf(x); }
static inline float log_(float x, float alpha) { (void)alpha; return tq_logf(x); }
static inline float sin_(float x, float alpha) { (void)alpha; return tq_sinf(x); }
static inline float cos_(float x, float alpha) { (void)alpha; return tq_cosf(x); }
static inline float abs_(float x, float alpha) { (void)alpha; return tq_f32_of_bits(tq_f32_bits(x) & 0x7fffffffu); }
static inline float floor_(float x, float alpha) { (void)alpha; return tq_floorf(x); }
static inline float ceil_(float x, float alpha) { (void)alpha; return tq_ceilf(x); }

/* RoundToNearest: floor, then up unless below half or a tie on an even floor. The cast of the
 * floor to int is only reached on a tie, where |floor| < 2^23. */
static inline float round_(float x, float alpha) {
  (void)alpha;
  const float floor_val = tq_floorf(x);
  const float diff = x - floor_val;
  if ((diff < 0.5f) || ((diff == 0.5f) && ((int32_t)floor_val % 2 == 0))) return floor_val;
  return floor_val + 1.0f;
}

/* Logistic: 1 above 16.619047164916992188, exp(x) below -9, else 1 / (1 + exp(-x)). */
static inline float logistic(float x, float alpha) {
  (void)alpha;
  if (x > 16.619047164916992188f) return 1.0f;
  if (x < -9.0f) return tq_expf(x);
  return 1.0f / (1.0f + tq_expf(-x));
}

static inline float tanh_(float x, float alpha) { (void)alpha; return tq_tanhf(x); }

/* Elu: expm1(x) below 0 (TfLiteExpm1 is std::expm1). */
static inline float elu(float x, float alpha) { (void)alpha; return x < 0.0f ? tq_expm1f(x) : x; }

/* HardSwish<float>: in * std::min(6, std::max(0, in + 3)) / 6. */
static inline float hard_swish(float x, float alpha) {
  (void)alpha;
  const float shifted = x + 3.0f;
  const float low = 0.0f < shifted ? shifted : 0.0f; /* std::max(0, in + 3) */
  const float relu6 = low < 6.0f ? low : 6.0f;       /* std::min(6, ...) */
  return x * relu6 / 6.0f;
}

/* ReluFloat: val < 0 ? 0 : val; Relu6Float: val > 6 ? 6 : val < 0 ? 0 : val. */
static inline float relu(float x, float alpha) { (void)alpha; return x < 0.0f ? 0.0f : x; }
static inline float relu6(float x, float alpha) { (void)alpha; return x > 6.0f ? 6.0f : x < 0.0f ? 0.0f : x; }
static inline float leaky_relu(float x, float alpha) { return x > 0.0f ? x : x * alpha; }

#define TQ_UNARY_F32_DEFINE(name, FN)                                                         \
  void name(const tq_unary_f32_params_t *p, const float *input, float *output) {             \
    const float alpha = p->alpha;                                                            \
    for (int32_t i = 0; i < p->size; ++i) output[i] = FN(input[i], alpha);                   \
  }

TQ_UNARY_F32_DEFINE(tq_neg_f32, neg)
TQ_UNARY_F32_DEFINE(tq_square_f32, square)
TQ_UNARY_F32_DEFINE(tq_sqrt_f32, sqrt_)
TQ_UNARY_F32_DEFINE(tq_rsqrt_f32, rsqrt)
TQ_UNARY_F32_DEFINE(tq_exp_f32, exp_)
TQ_UNARY_F32_DEFINE(tq_log_f32, log_)
TQ_UNARY_F32_DEFINE(tq_sin_f32, sin_)
TQ_UNARY_F32_DEFINE(tq_cos_f32, cos_)
TQ_UNARY_F32_DEFINE(tq_abs_f32, abs_)
TQ_UNARY_F32_DEFINE(tq_floor_f32, floor_)
TQ_UNARY_F32_DEFINE(tq_ceil_f32, ceil_)
TQ_UNARY_F32_DEFINE(tq_round_f32, round_)
TQ_UNARY_F32_DEFINE(tq_logistic_f32, logistic)
TQ_UNARY_F32_DEFINE(tq_tanh_f32, tanh_)
TQ_UNARY_F32_DEFINE(tq_elu_f32, elu)
TQ_UNARY_F32_DEFINE(tq_hard_swish_f32, hard_swish)
TQ_UNARY_F32_DEFINE(tq_relu_f32, relu)
TQ_UNARY_F32_DEFINE(tq_relu6_f32, relu6)
TQ_UNARY_F32_DEFINE(tq_leaky_relu_f32, leaky_relu)
