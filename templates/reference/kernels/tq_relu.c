#include "tq_relu.h"

/* TFLM's ReluQuantized: requantize to the output scale, then clamp at the output's zero. */
void tq_relu_s8(const tq_relu_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = tq_wrap_add(tq_mbqm(input[i] - p->input_zero_point, p->multiplier, p->shift), p->output_zero_point);
    output[i] = (int8_t)TQ_CLAMP(v, p->act_min, p->act_max);
  }
}
