/* Loop nests computed offline (tinyq/ops/ndloops.py): extent-1 dimensions dropped
 * and contiguous ones fused, so most ops run one or two loops whatever their rank.
 * Strides are in elements; stride_b is unused by single-input walks. */
#ifndef TQ_NDLOOP_H
#define TQ_NDLOOP_H
#include "tq_common.h"

#define TQ_NDLOOP_MAX 8

typedef struct {
  int32_t rank; /* >= 1 */
  int32_t shape[TQ_NDLOOP_MAX];
  int32_t stride_a[TQ_NDLOOP_MAX];
  int32_t stride_b[TQ_NDLOOP_MAX];
} tq_ndloop_t;

/* Advances the index over loops [0, depth) by one step (last loop fastest),
 * moving both offsets with it; returns 0 once the whole nest has been walked. */
static inline int tq_ndloop_step(const tq_ndloop_t *n, int32_t depth, int32_t *index,
                                 int32_t *a, int32_t *b) {
  for (int32_t d = depth - 1; d >= 0; --d) {
    *a += n->stride_a[d];
    *b += n->stride_b[d];
    if (++index[d] < n->shape[d]) return 1;
    *a -= n->stride_a[d] * n->shape[d];
    *b -= n->stride_b[d] * n->shape[d];
    index[d] = 0;
  }
  return 0;
}
#endif
