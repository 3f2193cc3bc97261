/* The output walk of TFLM's BroadcastBinaryOpSimple, shared by the broadcasting binary op
 * families (MAXIMUM/MINIMUM, comparisons, logical ops, SQUARED_DIFFERENCE, DIV, PRELU): they
 * differ only in the element function. The loop nest comes from tinyq/ops/ndloops.py:
 * stride_a steps x, stride_b steps y, 0 along the dimensions an operand broadcasts. */
#ifndef TQ_BROADCAST_H
#define TQ_BROADCAST_H
#include "tq_ndloop.h"

/* *out++ = ELEMENT(ctx, x[..], y[..]) for every output element, in memory order. `out` is a
 * local pointer the walk advances; ELEMENT is a macro or inline function, `ctx` what it needs
 * besides the two values (parameters copied to locals: int8 stores may alias them). Both
 * operands' elements are read just before the output element is written and never again when
 * the operand is not broadcast, so the walk may write over such an operand (ELEMENTWISE). */
#define TQ_BROADCAST2(n, x, y, out, ELEMENT, ctx)                                                     \
  do {                                                                                               \
    const int32_t tq_last_ = (n)->rank - 1;                                                          \
    const int32_t tq_count_ = (n)->shape[tq_last_];                                                  \
    const int32_t tq_sa_ = (n)->stride_a[tq_last_], tq_sb_ = (n)->stride_b[tq_last_];                \
    int32_t tq_index_[TQ_NDLOOP_MAX] = {0};                                                          \
    int32_t tq_ia_ = 0, tq_ib_ = 0;                                                                  \
    do {                                                                                             \
      for (int32_t tq_i_ = 0; tq_i_ < tq_count_; ++tq_i_) {                                          \
        *(out)++ = ELEMENT((ctx), (x)[tq_ia_ + tq_i_ * tq_sa_], (y)[tq_ib_ + tq_i_ * tq_sb_]);        \
      }                                                                                              \
    } while (tq_ndloop_step((n), tq_last_, tq_index_, &tq_ia_, &tq_ib_));                            \
  } while (0)

#endif
