#include "tq_add_s16.h"

/* TFLM's int16 ADD (AddElementwise / BroadcastAdd6DSlow on int16_t) and SUB
 * (SubElementwise / BroadcastQuantSubSlow): int8's arithmetic with 15 bits of headroom,
 * which keeps (x + offset) << 15 inside int32 for the zero points TFLM's converter gives
 * int16 (0; other offsets wrap as in TFLM). */
static inline void tq_add_or_sub_s16(const tq_add_params_t *p, const int16_t *input1, const int16_t *input2,
                                     int16_t *output, const int subtract) {
  const tq_ndloop_t *n = &p->loops;
  const int32_t last = n->rank - 1;
  const int32_t count = n->shape[last], sa = n->stride_a[last], sb = n->stride_b[last];
  const int32_t off1 = p->input1_offset, off2 = p->input2_offset, out_off = p->output_offset;
  const int32_t left_shift = p->left_shift;
  const int32_t m1 = p->input1_multiplier, s1 = -p->input1_shift;
  const int32_t m2 = p->input2_multiplier, s2 = -p->input2_shift;
  const int32_t mo = p->output_multiplier, so = -p->output_shift;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  int32_t index[TQ_NDLOOP_MAX] = {0};
  int32_t ia = 0, ib = 0;
  do {
    const int16_t *x = input1 + ia, *y = input2 + ib;
    for (int32_t i = 0; i < count; ++i) {
      const int32_t a = (int32_t)((uint32_t)(x[i * sa] + off1) << left_shift);
      const int32_t b = (int32_t)((uint32_t)(y[i * sb] + off2) << left_shift);
      const int32_t scaled_b = tq_rdbpot(tq_srdhm_q(b, m2), s2);
      const int32_t sum = tq_rdbpot(tq_srdhm_q(a, m1), s1) + (subtract ? -scaled_b : scaled_b);
      int32_t out = tq_wrap_add(tq_rdbpot(tq_srdhm_q(sum, mo), so), out_off);
      if (out < act_min) out = act_min;
      if (out > act_max) out = act_max;
      *output++ = (int16_t)out;
    }
  } while (tq_ndloop_step(n, last, index, &ia, &ib));
}

void tq_add_s16(const tq_add_params_t *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
  tq_add_or_sub_s16(p, input1, input2, output, 0);
}

void tq_sub_s16(const tq_add_params_t *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
  tq_add_or_sub_s16(p, input1, input2, output, 1);
}
