#ifndef TQ_MEAN_S16_H
#define TQ_MEAN_S16_H
#include "tq_mean.h"

void tq_mean_s16(const tq_mean_params_t *p, const int16_t *input, int16_t *output);
#endif
