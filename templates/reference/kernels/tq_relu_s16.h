#ifndef TQ_RELU_S16_H
#define TQ_RELU_S16_H
#include "tq_relu.h"

void tq_relu_s16(const tq_relu_params_t *p, const int16_t *input, int16_t *output);
#endif
