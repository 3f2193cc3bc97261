#include "tq_compare_f32.h"
#include "tq_broadcast.h"

/* TFLM's EqualFn, NotEqualFn, GreaterFn, ...: lhs OP rhs on the floats themselves. */
#define TQ_EQ(c, a, b) ((uint8_t)((a) == (b)))
#define TQ_NE(c, a, b) ((uint8_t)((a) != (b)))
#define TQ_GT(c, a, b) ((uint8_t)((a) > (b)))
#define TQ_GE(c, a, b) ((uint8_t)((a) >= (b)))
#define TQ_LT(c, a, b) ((uint8_t)((a) < (b)))
#define TQ_LE(c, a, b) ((uint8_t)((a) <= (b)))

#define TQ_COMPARE_F32_DEFINE(name, OP)                                                   \
  void name(const tq_ndloop_t *n, const float *x, const float *y, uint8_t *output) {     \
    TQ_BROADCAST2(n, x, y, output, OP, 0);                                               \
  }

TQ_COMPARE_F32_DEFINE(tq_equal_f32, TQ_EQ)
TQ_COMPARE_F32_DEFINE(tq_not_equal_f32, TQ_NE)
TQ_COMPARE_F32_DEFINE(tq_greater_f32, TQ_GT)
TQ_COMPARE_F32_DEFINE(tq_greater_equal_f32, TQ_GE)
TQ_COMPARE_F32_DEFINE(tq_less_f32, TQ_LT)
TQ_COMPARE_F32_DEFINE(tq_less_equal_f32, TQ_LE)
