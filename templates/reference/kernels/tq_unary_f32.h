#ifndef TQ_UNARY_F32_H
#define TQ_UNARY_F32_H
#include "tq_f32.h"

/* float32 element-wise ops: `size` elements, output element i from input element i only. */
typedef struct {
  int32_t size;
  float alpha; /* LEAKY_RELU */
} tq_unary_f32_params_t;

#define TQ_UNARY_F32_DECLARE(name) void name(const tq_unary_f32_params_t *p, const float *input, float *output);
TQ_UNARY_F32_DECLARE(tq_neg_f32)
TQ_UNARY_F32_DECLARE(tq_square_f32)
TQ_UNARY_F32_DECLARE(tq_sqrt_f32)
TQ_UNARY_F32_DECLARE(tq_rsqrt_f32)
TQ_UNARY_F32_DECLARE(tq_exp_f32)
TQ_UNARY_F32_DECLARE(tq_log_f32)
TQ_UNARY_F32_DECLARE(tq_sin_f32)
TQ_UNARY_F32_DECLARE(tq_cos_f32)
TQ_UNARY_F32_DECLARE(tq_abs_f32)
TQ_UNARY_F32_DECLARE(tq_floor_f32)
TQ_UNARY_F32_DECLARE(tq_ceil_f32)
TQ_UNARY_F32_DECLARE(tq_round_f32)
TQ_UNARY_F32_DECLARE(tq_logistic_f32)
TQ_UNARY_F32_DECLARE(tq_tanh_f32)
TQ_UNARY_F32_DECLARE(tq_elu_f32)
TQ_UNARY_F32_DECLARE(tq_hard_swish_f32)
TQ_UNARY_F32_DECLARE(tq_relu_f32)
TQ_UNARY_F32_DECLARE(tq_relu6_f32)
TQ_UNARY_F32_DECLARE(tq_leaky_relu_f32)
#endif
