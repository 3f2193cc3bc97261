#ifndef TQ_ADD_N_H
#define TQ_ADD_N_H
#include "tq_common.h"

/* ADD_N (int8): the sum of n equally shaped tensors sharing one scale and zero point. */
typedef struct {
  int32_t count;  /* elements per tensor */
  int32_t inputs; /* n */
  int32_t input_offset, output_offset;
  int32_t left_shift;
  int32_t input_multiplier, input_shift;
  int32_t output_multiplier, output_shift;
} tq_add_n_params_t;

void tq_add_n_s8(const tq_add_n_params_t *p, const int8_t *const *inputs, int8_t *output);
#endif
