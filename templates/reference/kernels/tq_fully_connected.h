#ifndef TQ_FULLY_CONNECTED_H
#define TQ_FULLY_CONNECTED_H
#include "tq_common.h"

typedef struct {
  int32_t batches, accum_depth, output_depth;
  int32_t input_offset, filter_offset, output_offset;
  int32_t act_min, act_max;
  const int32_t *multiplier; /* one per output channel */
  const int8_t *shift;
  /* bias + input_offset * (sum of the channel's weights + accum_depth * filter_offset),
   * computed offline: the accumulator's start before the raw inputs. */
  const int32_t *acc_init;
} tq_fully_connected_params_t;

void tq_fully_connected_s8(const tq_fully_connected_params_t *p, const int8_t *input, const int8_t *filter,
                           int8_t *output);
#endif
