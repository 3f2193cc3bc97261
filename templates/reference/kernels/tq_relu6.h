#ifndef TQ_RELU6_H
#define TQ_RELU6_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  int32_t lower, upper; /* 0 and 6 in the input's quantization */
} tq_relu6_params_t;

void tq_relu6_s8(const tq_relu6_params_t *p, const int8_t *input, int8_t *output);
#endif
