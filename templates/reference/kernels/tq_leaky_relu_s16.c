#include "tq_leaky_relu_s16.h"

/* reference_ops::QuantizeLeakyRelu<int16_t>: the int8 kernel's arithmetic, clamped to int16. */
void tq_leaky_relu_s16(const tq_leaky_relu_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = input[i] - p->input_zero_point;
    int32_t v = p->output_zero_point;
    if (x >= 0) {
      v = tq_wrap_add(v, tq_mbqm(x, p->identity_multiplier, p->identity_shift));
    } else {
      const int32_t scaled = tq_mbqm(x, p->alpha_multiplier, p->alpha_shift);
      v = tq_wrap_add(v, p->alpha_negative ? (int32_t)(0u - (uint32_t)scaled) : scaled);
    }
    output[i] = (int16_t)TQ_CLAMP(v, INT16_MIN, INT16_MAX);
  }
}
