#include "tq_reduce_f32.h"

/* Each output folds its inputs in the order TFLM's Reduce visits them (the input's memory
 * order): FOLD(acc, x) from INIT, then FINISH(acc). */
#define TQ_REDUCE_F32_DEFINE(name, INIT, FOLD, FINISH)                                               \
  void name(const tq_reduce_f32_params_t *p, const float *input, float *output) {                   \
    const tq_ndloop_t *in = &p->inner;                                                              \
    const int32_t last = in->rank - 1;                                                              \
    const int32_t count = in->shape[last], stride = in->stride_a[last];                             \
    int32_t outer_index[TQ_NDLOOP_MAX] = {0}, inner_index[TQ_NDLOOP_MAX] = {0};                     \
    int32_t base = 0, unused = 0;                                                                   \
    do {                                                                                            \
      float acc = (INIT);                                                                           \
      int32_t offset = base, unused_inner = 0;                                                      \
      do {                                                                                          \
        for (int32_t i = 0; i < count; ++i) {                                                       \
          const float x = input[offset + i * stride];                                               \
          acc = FOLD(acc, x);                                                                       \
        }                                                                                           \
      } while (tq_ndloop_step(in, last, inner_index, &offset, &unused_inner));                      \
      *output++ = FINISH(acc);                                                                      \
    } while (tq_ndloop_step(&p->outer, p->outer.rank, outer_index, &base, &unused));                \
  }

#define TQ_RF_SUM(acc, x) ((acc) + (x))
#define TQ_RF_MAX(acc, x) ((x) > (acc) ? (x) : (acc)) /* (in > current) ? in : current */
#define TQ_RF_MIN(acc, x) ((x) < (acc) ? (x) : (acc))
#define TQ_RF_SAME(acc) (acc)
#define TQ_RF_MEAN(acc) ((acc) / p->count)

TQ_REDUCE_F32_DEFINE(tq_mean_f32, 0.0f, TQ_RF_SUM, TQ_RF_MEAN)
TQ_REDUCE_F32_DEFINE(tq_sum_f32, 0.0f, TQ_RF_SUM, TQ_RF_SAME)
TQ_REDUCE_F32_DEFINE(tq_reduce_max_f32, -0x1.fffffep+127f, TQ_RF_MAX, TQ_RF_SAME)
TQ_REDUCE_F32_DEFINE(tq_reduce_min_f32, 0x1.fffffep+127f, TQ_RF_MIN, TQ_RF_SAME)
