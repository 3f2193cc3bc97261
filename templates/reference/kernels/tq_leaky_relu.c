#include "tq_leaky_relu.h"

/* reference_ops::QuantizeLeakyRelu: one multiplier for x >= 0, another for x < 0;
 * a negative alpha is applied as a positive multiplier and a final negation. */
void tq_leaky_relu_s8(const tq_leaky_relu_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = input[i] - p->input_zero_point;
    int32_t v = p->output_zero_point;
    if (x >= 0) {
      v = tq_wrap_add(v, tq_mbqm(x, p->identity_multiplier, p->identity_shift));
    } else {
      const int32_t scaled = tq_mbqm(x, p->alpha_multiplier, p->alpha_shift);
      v = tq_wrap_add(v, p->alpha_negative ? (int32_t)(0u - (uint32_t)scaled) : scaled);
    }
    output[i] = (int8_t)TQ_CLAMP(v, INT8_MIN, INT8_MAX);
  }
}
