#include "tq_reduce.h"

/* reference_ops::ReduceGeneric: every output starts at the reduction's identity and
 * folds in its inputs. max, min and logical AND give the same result in any order,
 * so the loops walk MEAN's nest (tq_mean.c): kept dimensions outside, reduced inside. */
#define TQ_REDUCE_LOOP(type, identity, fold)                                              \
  const tq_ndloop_t *in = &p->inner;                                                      \
  const int32_t last = in->rank - 1;                                                      \
  const int32_t count = in->shape[last], stride = in->stride_a[last];                     \
  int32_t outer_index[TQ_NDLOOP_MAX] = {0}, inner_index[TQ_NDLOOP_MAX] = {0};             \
  int32_t base = 0, unused = 0;                                                           \
  do {                                                                                    \
    type acc = (identity);                                                                \
    int32_t offset = base, unused_inner = 0;                                              \
    do {                                                                                  \
      for (int32_t i = 0; i < count; ++i) {                                              \
        const type v = input[offset + i * stride];                                        \
        acc = (fold);                                                                     \
      }                                                                                   \
    } while (tq_ndloop_step(in, last, inner_index, &offset, &unused_inner));              \
    *output++ = acc;                                                                      \
  } while (tq_ndloop_step(&p->outer, p->outer.rank, outer_index, &base, &unused));

void tq_reduce_max_s8(const tq_reduce_params_t *p, const int8_t *input, int8_t *output) {
  TQ_REDUCE_LOOP(int8_t, INT8_MIN, v > acc ? v : acc)
}

void tq_reduce_min_s8(const tq_reduce_params_t *p, const int8_t *input, int8_t *output) {
  TQ_REDUCE_LOOP(int8_t, INT8_MAX, v < acc ? v : acc)
}

void tq_reduce_all_b(const tq_reduce_params_t *p, const uint8_t *input, uint8_t *output) {
  TQ_REDUCE_LOOP(uint8_t, 1, (uint8_t)(acc && v))
}
