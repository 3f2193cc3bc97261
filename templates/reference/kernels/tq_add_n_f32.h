#ifndef TQ_ADD_N_F32_H
#define TQ_ADD_N_F32_H
#include "tq_f32.h"

void tq_add_n_f32(const float *const *inputs, int32_t num_inputs, int32_t count, float *output);
#endif
