#include "tq_prelu.h"

/* Both multipliers come from QuantizeMultiplier and may exceed 1: the general tq_mbqm (its left
 * shift wraps as TFLM's int multiply does). |x * alpha| <= 255 * 255 fits int32. */
static inline int8_t tq_prelu_element(const tq_prelu_params_t *q, int8_t a, int8_t alpha) {
  const int32_t x = a + q->input_offset;
  const int32_t scaled = x >= 0 ? tq_mbqm(x, q->output_multiplier_1, q->output_shift_1)
                                : tq_mbqm(x * (alpha + q->alpha_offset), q->output_multiplier_2, q->output_shift_2);
  const int32_t out = scaled + q->output_offset;
  return (int8_t)TQ_CLAMP(out, -128, 127);
}

/* Parameters are copied to a local: the int8 stores may alias *p. */
void tq_prelu_s8(const tq_prelu_params_t *p, const int8_t *x, const int8_t *alpha, int8_t *output) {
  const tq_prelu_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, alpha, output, tq_prelu_element, &q);
}
