#ifndef TQ_TANH_H
#define TQ_TANH_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t input_range_radius; /* |input - zero point| at or beyond it saturates */
  int32_t input_multiplier;   /* input scale on the Q4.27 grid */
  int32_t input_left_shift;
} tq_tanh_params_t;

void tq_tanh_s8(const tq_tanh_params_t *p, const int8_t *input, int8_t *output);
#endif
