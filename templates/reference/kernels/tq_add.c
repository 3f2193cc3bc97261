#include "tq_add.h"

/* reference_integer_ops::AddFunc: both inputs rescaled to a common fixed-point
 * scale (left_shift bits of headroom), summed, rescaled to the output. */
static inline int8_t tq_add_one(const tq_add_params_t *p, int8_t x, int8_t y) {
  const int32_t a = (int32_t)((uint32_t)(x + p->input1_offset) << p->left_shift);
  const int32_t b = (int32_t)((uint32_t)(y + p->input2_offset) << p->left_shift);
  const int32_t sum = tq_mbqm_small(a, p->input1_multiplier, p->input1_shift) +
                      tq_mbqm_small(b, p->input2_multiplier, p->input2_shift);
  const int32_t out = tq_mbqm_small(sum, p->output_multiplier, p->output_shift) + p->output_offset;
  return (int8_t)TQ_CLAMP(out, p->act_min, p->act_max);
}

void tq_add_s8(const tq_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
  const tq_ndloop_t *n = &p->loops;
  const int32_t last = n->rank - 1;
  const int32_t count = n->shape[last], sa = n->stride_a[last], sb = n->stride_b[last];
  int32_t index[TQ_NDLOOP_MAX] = {0};
  int32_t ia = 0, ib = 0;
  do {
    for (int32_t i = 0; i < count; ++i) {
      *output++ = tq_add_one(p, input1[ia + i * sa], input2[ib + i * sb]);
    }
  } while (tq_ndloop_step(n, last, index, &ia, &ib));
}
