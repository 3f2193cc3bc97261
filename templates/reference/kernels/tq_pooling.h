#ifndef TQ_POOLING_H
#define TQ_POOLING_H
#include "tq_common.h"

/* NHWC; input and output share scale and zero point, so pooling needs no
 * requantization, only the fused activation's clamp. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, depth;
  int32_t out_h, out_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
} tq_pool_params_t;

void tq_average_pool_2d_s8(const tq_pool_params_t *p, const int8_t *input, int8_t *output);
void tq_max_pool_2d_s8(const tq_pool_params_t *p, const int8_t *input, int8_t *output);
#endif
