#include "tq_prelu.h"

/* Both multipliers come from QuantizeMultiplier and may exceed 1: the general tq_mbqm (its left
 * shift wraps as TFLM's int multiply does). |x * alpha| <= 65535 * 255 fits int32. */
static inline int32_t tq_prelu_value(const tq_prelu_params_t *q, int32_t a, int32_t alpha) {
  const int32_t x = a + q->input_offset;
  const int32_t scaled = x >= 0 ? tq_mbqm(x, q->output_multiplier_1, q->output_shift_1)
                                : tq_mbqm(x * (alpha + q->alpha_offset), q->output_multiplier_2, q->output_shift_2);
  return scaled + q->output_offset;
}

static inline int8_t tq_prelu_element(const tq_prelu_params_t *q, int8_t a, int8_t alpha) {
  const int32_t out = tq_prelu_value(q, a, alpha);
  return (int8_t)TQ_CLAMP(out, -128, 127);
}

static inline int16_t tq_prelu_element_s16(const tq_prelu_params_t *q, int16_t a, int8_t alpha) {
  const int32_t out = tq_prelu_value(q, a, alpha);
  return (int16_t)TQ_CLAMP(out, INT16_MIN, INT16_MAX);
}

/* Parameters are copied to a local: the int8 stores may alias *p. */
void tq_prelu_s8(const tq_prelu_params_t *p, const int8_t *x, const int8_t *alpha, int8_t *output) {
  const tq_prelu_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, alpha, output, tq_prelu_element, &q);
}

void tq_prelu_s16(const tq_prelu_params_t *p, const int16_t *x, const int8_t *alpha, int16_t *output) {
  const tq_prelu_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, alpha, output, tq_prelu_element_s16, &q);
}
