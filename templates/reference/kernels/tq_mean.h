#ifndef TQ_MEAN_H
#define TQ_MEAN_H
#include "tq_ndloop.h"

typedef struct {
  tq_ndloop_t outer;        /* the kept dimensions: one output per step */
  tq_ndloop_t inner;        /* the reduced dimensions */
  int32_t zero_point_sum;   /* input zero point * reduced count, wrapped to int32 */
  int32_t multiplier, shift; /* scale ratio, with 1/count folded in for MEAN */
  int32_t output_zero_point;
} tq_mean_params_t;

void tq_mean_s8(const tq_mean_params_t *p, const int8_t *input, int8_t *output);
#endif
