#ifndef TQ_RELU_H
#define TQ_RELU_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift; /* input scale / output scale */
  int32_t act_min, act_max;
} tq_relu_params_t;

void tq_relu_s8(const tq_relu_params_t *p, const int8_t *input, int8_t *output);
#endif
