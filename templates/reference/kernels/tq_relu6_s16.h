#ifndef TQ_RELU6_S16_H
#define TQ_RELU6_S16_H
#include "tq_relu6.h"

void tq_relu6_s16(const tq_relu6_params_t *p, const int16_t *input, int16_t *output);
#endif
