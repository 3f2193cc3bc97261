#ifndef TQ_SQUARED_DIFFERENCE_H
#define TQ_SQUARED_DIFFERENCE_H
#include "tq_broadcast.h"

/* SQUARED_DIFFERENCE: int8 and int16 as TFLM's quantized path (both operands to a common scale with
 * 7 bits of headroom for int8, none for int16, the difference squared, rescaled to the output);
 * int32 on the stored values. */
typedef struct {
  tq_ndloop_t loops; /* over the output; stride_a/stride_b step x/y */
  int32_t input1_offset, input2_offset, output_offset;
  int32_t left_shift;
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
} tq_squared_difference_params_t;

void tq_squared_difference_s8(const tq_squared_difference_params_t *p, const int8_t *x, const int8_t *y,
                              int8_t *output);
void tq_squared_difference_s16(const tq_squared_difference_params_t *p, const int16_t *x, const int16_t *y,
                               int16_t *output);
void tq_squared_difference_s32(const tq_squared_difference_params_t *p, const int32_t *x, const int32_t *y,
                               int32_t *output);
#endif
