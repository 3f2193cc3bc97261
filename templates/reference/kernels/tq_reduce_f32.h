#ifndef TQ_REDUCE_F32_H
#define TQ_REDUCE_F32_H
#include "tq_f32.h"
#include "tq_ndloop.h"

/* float32 reductions: `outer` walks the kept dimensions (one output each), `inner` the reduced
 * ones in the input's memory order; `count` is MEAN's divisor. */
typedef struct {
  tq_ndloop_t outer, inner;
  float count;
} tq_reduce_f32_params_t;

void tq_mean_f32(const tq_reduce_f32_params_t *p, const float *input, float *output);
void tq_sum_f32(const tq_reduce_f32_params_t *p, const float *input, float *output);
void tq_reduce_max_f32(const tq_reduce_f32_params_t *p, const float *input, float *output);
void tq_reduce_min_f32(const tq_reduce_f32_params_t *p, const float *input, float *output);
#endif
