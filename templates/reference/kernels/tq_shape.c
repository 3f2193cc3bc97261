#include "tq_shape.h"

/* Dimensions are matched from the last; a missing one counts as 1. TFLM holds each in an
 * int, so int64 dimensions keep their low 32 bits (sign-extended back on output). */
#define TQ_BROADCAST_ARGS(NAME, T)                                                             \
  int NAME(const T *a, int32_t len_a, const T *b, int32_t len_b, T *output, int32_t len_out) { \
    for (int32_t i = 0; i < len_out; ++i) {                                                    \
      const int32_t da = i < len_a ? (int32_t)a[len_a - 1 - i] : 1;                            \
      const int32_t db = i < len_b ? (int32_t)b[len_b - 1 - i] : 1;                            \
      if (da != 1 && db != 1 && da != db) return -1;                                           \
      output[len_out - 1 - i] = (T)(da == 1 ? db : da);                                        \
    }                                                                                          \
    return 0;                                                                                  \
  }
TQ_BROADCAST_ARGS(tq_broadcast_args_s32, int32_t)
TQ_BROADCAST_ARGS(tq_broadcast_args_s64, int64_t)
