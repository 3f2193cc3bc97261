#ifndef TQ_HARD_SWISH_H
#define TQ_HARD_SWISH_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int32_t reluish_multiplier; /* Q15: input * 2^7 -> the scale where 3.0 is 32768 */
  int32_t reluish_exponent;
  int32_t output_multiplier;  /* Q15: input * 2^7 -> output scale (exponent <= 0) */
  int32_t output_exponent;
} tq_hard_swish_params_t;

void tq_hard_swish_s8(const tq_hard_swish_params_t *p, const int8_t *input, int8_t *output);
#endif
