#include "tq_maximum_minimum.h"

/* TFLM's MaximumOp / MinimumOp (el1 > el2 ? el1 : el2): on integers either operand of a tie
 * gives the same value. */
#define TQ_MAX_OF(ctx, a, b) ((a) > (b) ? (a) : (b))
#define TQ_MIN_OF(ctx, a, b) ((a) < (b) ? (a) : (b))

#define TQ_MAXIMUM_MINIMUM_DEFINE(suffix, T)                                                         \
  void tq_maximum_##suffix(const tq_ndloop_t *n, const T *x, const T *y, T *output) {               \
    TQ_BROADCAST2(n, x, y, output, TQ_MAX_OF, 0);                                                    \
  }                                                                                                  \
  void tq_minimum_##suffix(const tq_ndloop_t *n, const T *x, const T *y, T *output) {               \
    TQ_BROADCAST2(n, x, y, output, TQ_MIN_OF, 0);                                                    \
  }

TQ_MAXIMUM_MINIMUM_DEFINE(s8, int8_t)
TQ_MAXIMUM_MINIMUM_DEFINE(s16, int16_t)
TQ_MAXIMUM_MINIMUM_DEFINE(s32, int32_t)
TQ_MAXIMUM_MINIMUM_DEFINE(s64, int64_t)
