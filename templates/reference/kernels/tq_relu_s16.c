#include "tq_relu_s16.h"

/* TFLM's ReluQuantized<int16_t>: requantize to the output scale, clamp at the output's zero
 * (TFLM requires both zero points to be 0 for int16). */
void tq_relu_s16(const tq_relu_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = tq_wrap_add(tq_mbqm(input[i] - p->input_zero_point, p->multiplier, p->shift), p->output_zero_point);
    output[i] = (int16_t)TQ_CLAMP(v, p->act_min, p->act_max);
  }
}
