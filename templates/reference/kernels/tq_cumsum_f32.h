#ifndef TQ_CUMSUM_F32_H
#define TQ_CUMSUM_F32_H
#include "tq_f32.h"

typedef struct {
  int32_t before, depth, after; /* products of the dimensions before the axis, the axis, after it */
  int32_t exclusive, reverse;
} tq_cumsum_f32_params_t;

void tq_cumsum_f32(const tq_cumsum_f32_params_t *p, const float *input, float *output);
#endif
