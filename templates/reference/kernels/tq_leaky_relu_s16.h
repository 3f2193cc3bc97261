#ifndef TQ_LEAKY_RELU_S16_H
#define TQ_LEAKY_RELU_S16_H
#include "tq_leaky_relu.h"

void tq_leaky_relu_s16(const tq_leaky_relu_params_t *p, const int16_t *input, int16_t *output);
#endif
