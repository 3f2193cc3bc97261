#ifndef TQ_PRELU_H
#define TQ_PRELU_H
#include "tq_broadcast.h"

/* PRELU (int8; int16 with an int8 alpha): x >= 0 rescaled by s_in / s_out, x < 0 multiplied by alpha and rescaled by
 * s_in * s_alpha / s_out; alpha broadcasts against x (TFLM's BroadcastPrelu4DSlow). */
typedef struct {
  tq_ndloop_t loops; /* over the output; stride_a steps x, stride_b alpha */
  int32_t input_offset, alpha_offset, output_offset;
  int32_t output_multiplier_1, output_shift_1; /* x >= 0 */
  int32_t output_multiplier_2, output_shift_2; /* x < 0 */
} tq_prelu_params_t;

void tq_prelu_s8(const tq_prelu_params_t *p, const int8_t *x, const int8_t *alpha, int8_t *output);
void tq_prelu_s16(const tq_prelu_params_t *p, const int16_t *x, const int8_t *alpha, int16_t *output);
#endif
