#ifndef TQ_CUMSUM_H
#define TQ_CUMSUM_H
#include "tq_common.h"

typedef struct {
  int32_t before, depth, after; /* the dimensions before the axis, the axis, after it */
  int32_t exclusive, reverse;
  int32_t input_offset, input_multiplier, input_shift;    /* input onto 2 * s_in / 2^20 */
  int32_t output_offset, output_multiplier, output_shift; /* running sum onto s_out */
} tq_cumsum_params_t;

void tq_cumsum_s8(const tq_cumsum_params_t *p, const int8_t *input, int8_t *output);
#endif
