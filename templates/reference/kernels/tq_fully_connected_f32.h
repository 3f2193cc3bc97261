#ifndef TQ_FULLY_CONNECTED_F32_H
#define TQ_FULLY_CONNECTED_F32_H
#include "tq_f32.h"

/* float32 fully connected: `batches` rows of `accum_depth` inputs, weights (output_depth, accum_depth). */
typedef struct {
  int32_t batches, accum_depth, output_depth;
  float act_min, act_max;
} tq_fully_connected_f32_params_t;

void tq_fully_connected_f32(const tq_fully_connected_f32_params_t *p, const float *input, const float *filter,
                            const float *bias, float *output);
#endif
