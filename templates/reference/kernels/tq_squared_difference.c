#include "tq_squared_difference.h"

/* The int8 operands scale to at most 255 * 2^7 / 2 and the int16 ones (left shift 0) to 2^15 / 2,
 * so the squared difference fits int32; the output multiplier may exceed 1 (QuantizeMultiplier),
 * hence the general tq_mbqm. Returns the unclamped output. */
static inline int32_t tq_squared_difference_value(const tq_squared_difference_params_t *q, int32_t a, int32_t b) {
  const int32_t x = (int32_t)((uint32_t)(a + q->input1_offset) << q->left_shift);
  const int32_t y = (int32_t)((uint32_t)(b + q->input2_offset) << q->left_shift);
  const int32_t diff = tq_rdbpot(tq_srdhm_q(x, q->input1_multiplier), -q->input1_shift) -
                       tq_rdbpot(tq_srdhm_q(y, q->input2_multiplier), -q->input2_shift);
  return tq_mbqm(diff * diff, q->output_multiplier, q->output_shift) + q->output_offset;
}

static inline int8_t tq_squared_difference_scaled(const tq_squared_difference_params_t *q, int8_t a, int8_t b) {
  const int32_t out = tq_squared_difference_value(q, a, b);
  return (int8_t)TQ_CLAMP(out, -128, 127);
}

static inline int16_t tq_squared_difference_scaled_s16(const tq_squared_difference_params_t *q, int16_t a, int16_t b) {
  const int32_t out = tq_squared_difference_value(q, a, b);
  return (int16_t)TQ_CLAMP(out, INT16_MIN, INT16_MAX);
}

/* int32: TFLM's (a - b) * (a - b) in int wraps on overflow; done in uint32 for the same bits. */
static inline int32_t tq_squared_difference_wrapped(const tq_squared_difference_params_t *q, int32_t a, int32_t b) {
  (void)q;
  const uint32_t diff = (uint32_t)a - (uint32_t)b;
  return (int32_t)(diff * diff);
}

/* Parameters are copied to a local: the int8 stores may alias *p. */
void tq_squared_difference_s8(const tq_squared_difference_params_t *p, const int8_t *x, const int8_t *y,
                              int8_t *output) {
  const tq_squared_difference_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_squared_difference_scaled, &q);
}

void tq_squared_difference_s16(const tq_squared_difference_params_t *p, const int16_t *x, const int16_t *y,
                               int16_t *output) {
  const tq_squared_difference_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_squared_difference_scaled_s16, &q);
}

void tq_squared_difference_s32(const tq_squared_difference_params_t *p, const int32_t *x, const int32_t *y,
                               int32_t *output) {
  TQ_BROADCAST2(&p->loops, x, y, output, tq_squared_difference_wrapped, p);
}
