#ifndef TQ_POOLING_F32_H
#define TQ_POOLING_F32_H
#include "tq_f32.h"

/* NHWC float32 pooling: each output channel from the same input channel's window. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, depth;
  int32_t out_h, out_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w, pad_h, pad_w;
  float act_min, act_max;
} tq_pool_f32_params_t;

void tq_average_pool_2d_f32(const tq_pool_f32_params_t *p, const float *input, float *output);
void tq_max_pool_2d_f32(const tq_pool_f32_params_t *p, const float *input, float *output);
void tq_l2_pool_2d_f32(const tq_pool_f32_params_t *p, const float *input, float *output); /* tq_l2_pool_2d_f32.c */
#endif
