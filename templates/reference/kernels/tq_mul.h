#ifndef TQ_MUL_H
#define TQ_MUL_H
#include "tq_ndloop.h"

typedef struct {
  tq_ndloop_t loops; /* over the output; stride_a/stride_b step input1/input2 */
  int32_t input1_offset, input2_offset, output_offset;
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} tq_mul_params_t;

void tq_mul_s8(const tq_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
#endif
