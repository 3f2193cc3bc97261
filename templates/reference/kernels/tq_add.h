#ifndef TQ_ADD_H
#define TQ_ADD_H
#include "tq_ndloop.h"

typedef struct {
  tq_ndloop_t loops; /* over the output; stride_a/stride_b step input1/input2 */
  int32_t input1_offset, input2_offset, output_offset;
  int32_t left_shift;
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} tq_add_params_t;

void tq_add_s8(const tq_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
/* SUB: the same parameters, the rescaled input2 subtracted */
void tq_sub_s8(const tq_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
#endif
