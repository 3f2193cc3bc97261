#ifndef TQ_FULLY_CONNECTED_H
#define TQ_FULLY_CONNECTED_H
#include "tq_common.h"

typedef struct {
  int32_t batches, accum_depth, output_depth;
  int32_t input_offset, filter_offset, output_offset;
  int32_t act_min, act_max;
  const int32_t *multiplier; /* one per output channel */
  const int8_t *shift;
} tq_fully_connected_params_t;

void tq_fully_connected_s8(const tq_fully_connected_params_t *p, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output);
#endif
