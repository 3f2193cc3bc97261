#ifndef TQ_SOFTMAX_F32_H
#define TQ_SOFTMAX_F32_H
#include "tq_f32.h"

/* float32 SOFTMAX, LOG_SOFTMAX and L2_NORMALIZATION over the last axis: outer_size rows of depth values. */
typedef struct {
  int32_t outer_size, depth;
  float beta; /* SOFTMAX only */
} tq_softmax_f32_params_t;

void tq_softmax_f32(const tq_softmax_f32_params_t *p, const float *input, float *output);
void tq_log_softmax_f32(const tq_softmax_f32_params_t *p, const float *input, float *output);
void tq_l2_normalization_f32(const tq_softmax_f32_params_t *p, const float *input, float *output);
#endif
