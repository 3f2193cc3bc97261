#ifndef TQ_DIV_H
#define TQ_DIV_H
#include "tq_broadcast.h"

/* DIV: int8 as TFLM's DivElementwise (the divisor's reciprocal by Newton-Raphson, the quotient
 * normalised and rescaled), int32 as C's truncating division; both clamped to the fused
 * activation's range. */
typedef struct {
  tq_ndloop_t loops; /* over the output; stride_a/stride_b step x/y */
  int32_t input1_offset, input2_offset, output_offset;
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} tq_div_params_t;

void tq_div_s8(const tq_div_params_t *p, const int8_t *x, const int8_t *y, int8_t *output);
void tq_div_s32(const tq_div_params_t *p, const int32_t *x, const int32_t *y, int32_t *output);
#endif
