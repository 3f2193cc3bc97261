#ifndef TQ_SOFTMAX_H
#define TQ_SOFTMAX_H
#include "tq_common.h"

typedef struct {
  int32_t outer_size, depth;   /* rows, and the length of the last axis */
  int32_t input_multiplier;    /* beta * input scale on the Q5.26 grid */
  int32_t input_left_shift;
  int32_t diff_min;            /* differences below it give exp() == 0 */
} tq_softmax_params_t;

void tq_softmax_s8(const tq_softmax_params_t *p, const int8_t *input, int8_t *output);
void tq_softmax_s8_s16(const tq_softmax_params_t *p, const int8_t *input, int16_t *output);
#endif
