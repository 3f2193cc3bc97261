#ifndef TQ_PAD_S16_H
#define TQ_PAD_S16_H
#include "tq_pad.h"

void tq_pad_s16(const tq_pad_params_t *p, const int16_t *input, int16_t pad_value, int16_t *output);
#endif
