#ifndef TQ_SIGMOID_S16_H
#define TQ_SIGMOID_S16_H
#include "tq_common.h"

/* int16 LOGISTIC and TANH: the input goes to the table's grid (1/(3*4096) a unit) by one
 * multiply and rounding right shift, then a 256-entry table of sigmoid(i/24) (Q0.16) is
 * interpolated (tanh(x) = 2 sigmoid(2x) - 1). Zero points are 0, the output scale 2^-15. */
typedef struct {
  int32_t size;
  int32_t input_multiplier, input_shift;
  const uint16_t *table; /* 256 entries */
} tq_sigmoid_s16_params_t;

void tq_logistic_s16(const tq_sigmoid_s16_params_t *p, const int16_t *input, int16_t *output);
void tq_tanh_s16(const tq_sigmoid_s16_params_t *p, const int16_t *input, int16_t *output);
#endif
