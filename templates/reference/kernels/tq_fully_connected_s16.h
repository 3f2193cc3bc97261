#ifndef TQ_FULLY_CONNECTED_S16_H
#define TQ_FULLY_CONNECTED_S16_H
#include "tq_common_s16.h"

/* 16x8 fully connected: int16 input rows of accum_depth, int8 weights (output_depth rows),
 * int64 or int32 bias. Per-tensor weights arrive with their multiplier repeated per channel
 * and their (zero) offset in filter_offset; per-channel ones have filter_offset 0. */
typedef struct {
  int32_t batches, accum_depth, output_depth;
  int32_t input_offset, filter_offset, output_offset;
  int32_t act_min, act_max;
  const int32_t *multiplier;
  const int8_t *shift;
} tq_fully_connected_s16_params_t;

void tq_fully_connected_s16(const tq_fully_connected_s16_params_t *p, const int16_t *input, const int8_t *filter,
                            const int64_t *bias, int16_t *output);
void tq_fully_connected_s16_acc32(const tq_fully_connected_s16_params_t *p, const int16_t *input,
                                  const int8_t *filter, const int32_t *bias, int16_t *output);
#endif
