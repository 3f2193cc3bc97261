#ifndef TQ_PAD_F32_H
#define TQ_PAD_F32_H
#include "tq_f32.h"
#include "tq_pad.h"

void tq_pad_f32(const tq_pad_params_t *p, const float *input, float pad_value, float *output);
#endif
