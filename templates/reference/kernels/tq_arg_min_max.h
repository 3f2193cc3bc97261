#ifndef TQ_ARG_MIN_MAX_H
#define TQ_ARG_MIN_MAX_H
#include "tq_common.h"

typedef struct {
  int32_t outer;     /* product of the dimensions before the axis */
  int32_t axis_size;
  int32_t inner;     /* product of the dimensions after it */
} tq_arg_min_max_params_t;

void tq_arg_max_s8(const tq_arg_min_max_params_t *p, const int8_t *input, int32_t *output);
void tq_arg_min_s8(const tq_arg_min_max_params_t *p, const int8_t *input, int32_t *output);
#endif
