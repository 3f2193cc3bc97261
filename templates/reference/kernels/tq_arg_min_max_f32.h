#ifndef TQ_ARG_MIN_MAX_F32_H
#define TQ_ARG_MIN_MAX_F32_H
#include "tq_arg_min_max.h"
#include "tq_f32.h"

void tq_arg_max_f32(const tq_arg_min_max_params_t *p, const float *input, int32_t *output);
void tq_arg_min_f32(const tq_arg_min_max_params_t *p, const float *input, int32_t *output);
#endif
