#ifndef TQ_SOFTMAX_S16_H
#define TQ_SOFTMAX_S16_H
#include "tq_common.h"

/* int16 SOFTMAX (zero points 0, output scale 2^-15): exp and 1/(1+x) from two 513-entry
 * tables, interpolated. */
typedef struct {
  int32_t outer_size, depth;   /* rows, and the length of the last axis */
  int32_t input_multiplier;    /* beta * input scale on the exp table's grid */
  int32_t input_shift;
  const int16_t *exp_lut;      /* exp(x) on [-10, 0] */
  const int16_t *recip_lut;    /* 1 / (1 + x) on [0, 1] */
} tq_softmax_s16_params_t;

void tq_softmax_s16(const tq_softmax_s16_params_t *p, const int16_t *input, int16_t *output);
#endif
