#ifndef TQ_L2_NORMALIZATION_H
#define TQ_L2_NORMALIZATION_H
#include "tq_common.h"

typedef struct {
  int32_t outer_size, depth;
  int32_t input_zero_point;
} tq_l2_normalization_params_t;

void tq_l2_normalization_s8(const tq_l2_normalization_params_t *p, const int8_t *input, int8_t *output);
#endif
