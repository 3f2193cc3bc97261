#ifndef TQ_LEAKY_RELU_H
#define TQ_LEAKY_RELU_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int32_t identity_multiplier, identity_shift; /* input scale / output scale */
  int32_t alpha_multiplier, alpha_shift;       /* |alpha| * input scale / output scale */
  int32_t alpha_negative;
} tq_leaky_relu_params_t;

void tq_leaky_relu_s8(const tq_leaky_relu_params_t *p, const int8_t *input, int8_t *output);
#endif
