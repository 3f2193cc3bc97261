#ifndef TQ_FULLY_CONNECTED_S4_H
#define TQ_FULLY_CONNECTED_S4_H
#include "tq_common.h"

/* FULLY_CONNECTED with int4 weights [output_depth, accum_depth] packed two
 * per byte (tq_int4.h). TFLM takes int4 weights per tensor only. */
typedef struct {
  int32_t batches, accum_depth, output_depth;
  int32_t input_offset, filter_offset, output_offset;
  int32_t act_min, act_max;
  int32_t multiplier, shift;
} tq_fully_connected_s4_params_t;

void tq_fully_connected_s4(const tq_fully_connected_s4_params_t *p, const int8_t *input,
                           const int8_t *packed_filter, const int32_t *bias, int8_t *output);
#endif
