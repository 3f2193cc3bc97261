#ifndef TQ_REDUCE_H
#define TQ_REDUCE_H
#include "tq_ndloop.h"

typedef struct {
  tq_ndloop_t outer; /* the kept dimensions: one output per step */
  tq_ndloop_t inner; /* the reduced dimensions */
} tq_reduce_params_t;

void tq_reduce_max_s8(const tq_reduce_params_t *p, const int8_t *input, int8_t *output);
void tq_reduce_min_s8(const tq_reduce_params_t *p, const int8_t *input, int8_t *output);
/* bool tensors hold one byte per element, 0 or 1 */
void tq_reduce_all_b(const tq_reduce_params_t *p, const uint8_t *input, uint8_t *output);
#endif
