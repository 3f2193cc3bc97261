#include "tq_mul_s16.h"

/* reference_integer_ops::MulElementwise / BroadcastMul6DSlow on int16_t: the product
 * (at most 2^30 with zero points 0) rescaled once by s1 * s2 / s_out. */
void tq_mul_s16(const tq_mul_params_t *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
  const tq_ndloop_t *n = &p->loops;
  const int32_t last = n->rank - 1;
  const int32_t count = n->shape[last], sa = n->stride_a[last], sb = n->stride_b[last];
  int32_t index[TQ_NDLOOP_MAX] = {0};
  int32_t ia = 0, ib = 0;
  do {
    for (int32_t i = 0; i < count; ++i) {
      const int32_t product = (int32_t)((uint32_t)(input1[ia + i * sa] + p->input1_offset) *
                                        (uint32_t)(input2[ib + i * sb] + p->input2_offset));
      const int32_t out = tq_wrap_add(tq_mbqm(product, p->output_multiplier, p->output_shift), p->output_offset);
      *output++ = (int16_t)TQ_CLAMP(out, p->act_min, p->act_max);
    }
  } while (tq_ndloop_step(n, last, index, &ia, &ib));
}
