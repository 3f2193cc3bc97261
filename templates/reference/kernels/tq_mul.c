#include "tq_mul.h"

/* reference_integer_ops::MulElementwise: the product of the offset inputs,
 * rescaled once by s1 * s2 / s_out. */
static inline int8_t tq_mul_one(const tq_mul_params_t *p, int8_t x, int8_t y) {
  const int32_t product = (x + p->input1_offset) * (y + p->input2_offset);
  const int32_t out = tq_wrap_add(tq_mbqm(product, p->output_multiplier, p->output_shift), p->output_offset);
  return (int8_t)TQ_CLAMP(out, p->act_min, p->act_max);
}

void tq_mul_s8(const tq_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
  const tq_ndloop_t *n = &p->loops;
  const int32_t last = n->rank - 1;
  const int32_t count = n->shape[last], sa = n->stride_a[last], sb = n->stride_b[last];
  int32_t index[TQ_NDLOOP_MAX] = {0};
  int32_t ia = 0, ib = 0;
  do {
    for (int32_t i = 0; i < count; ++i) {
      *output++ = tq_mul_one(p, input1[ia + i * sa], input2[ib + i * sb]);
    }
  } while (tq_ndloop_step(n, last, index, &ia, &ib));
}
