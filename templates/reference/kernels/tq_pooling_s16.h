#ifndef TQ_POOLING_S16_H
#define TQ_POOLING_S16_H
#include "tq_pooling.h"

void tq_average_pool_2d_s16(const tq_pool_params_t *p, const int16_t *input, int16_t *output);
void tq_max_pool_2d_s16(const tq_pool_params_t *p, const int16_t *input, int16_t *output);
#endif
