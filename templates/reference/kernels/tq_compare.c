#include "tq_compare.h"

/* The outcome bit for the order of x and y: -1, 0 or 1 selects bit 0, 1 or 2. */
#define TQ_OUTCOME(outcomes, x, y) ((uint8_t)(((outcomes) >> (((x) > (y)) - ((x) < (y)) + 1)) & 1))

/* MultiplyByQuantizedMultiplierSmallerThanOneExp of the offset value shifted left: the
 * multipliers come from QuantizeMultiplierSmallerThanOneExp (never INT32_MIN, shift <= 0). */
static inline int32_t tq_compare_rescale(int32_t value, int32_t left_shift, int32_t multiplier, int32_t shift) {
  return tq_rdbpot(tq_srdhm_q((int32_t)((uint32_t)value << left_shift), multiplier), -shift);
}

static inline uint8_t tq_compare_scaled(const tq_compare_params_t *q, int8_t a, int8_t b) {
  const int32_t x = tq_compare_rescale(a + q->input1_offset, q->left_shift, q->input1_multiplier, q->input1_shift);
  const int32_t y = tq_compare_rescale(b + q->input2_offset, q->left_shift, q->input2_multiplier, q->input2_shift);
  return TQ_OUTCOME(q->outcomes, x, y);
}

#define TQ_COMPARE_RAW(q, a, b) TQ_OUTCOME((q)->outcomes, (a), (b))

/* The parameters are copied to a local: the bool stores may alias *p. */
void tq_compare_s8(const tq_compare_params_t *p, const int8_t *x, const int8_t *y, uint8_t *output) {
  const tq_compare_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_compare_scaled, &q);
}

#define TQ_COMPARE_RAW_DEFINE(suffix, T)                                                            \
  void tq_compare_##suffix(const tq_compare_params_t *p, const T *x, const T *y, uint8_t *output) { \
    const tq_compare_params_t q = *p;                                                               \
    TQ_BROADCAST2(&q.loops, x, y, output, TQ_COMPARE_RAW, &q);                                      \
  }

TQ_COMPARE_RAW_DEFINE(s32, int32_t)
TQ_COMPARE_RAW_DEFINE(s64, int64_t)
TQ_COMPARE_RAW_DEFINE(b8, uint8_t)
