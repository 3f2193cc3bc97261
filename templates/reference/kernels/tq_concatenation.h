#ifndef TQ_CONCATENATION_H
#define TQ_CONCATENATION_H
#include "tq_common.h"

typedef struct {
  int32_t outer;             /* product of the dimensions before the axis */
  int32_t count;             /* number of inputs */
  const int32_t *copy_bytes; /* per input: bytes it contributes per outer step */
} tq_concatenation_params_t;

void tq_concatenation(const tq_concatenation_params_t *p, const void *const *inputs, void *output);
#endif
