#ifndef TQ_PAD_H
#define TQ_PAD_H
#include "tq_common.h"

/* Shapes extended to 5-D with leading 1s (and no padding there), as TFLM does. */
typedef struct {
  int32_t in_dims[5];
  int32_t out_dims[5];
  int32_t before[5]; /* padding before the data, per dimension */
} tq_pad_params_t;

void tq_pad_s8(const tq_pad_params_t *p, const int8_t *input, int8_t pad_value, int8_t *output);
#endif
