#include "tq_fully_connected.h"

/* reference_integer_ops::FullyConnected{,PerChannel}: per-tensor weights arrive
 * with their multiplier repeated per channel, so one loop serves both.
 * TFLM sums (w + filter_offset) * (x + input_offset); expanded, that is
 * w * x + filter_offset * sum(x) + acc_init (the rest is constant), the same
 * int32 value since the sums wrap mod 2^32 either way. Four output channels per
 * pass, so every input byte loaded feeds four multiply-adds. */
static inline int8_t tq_fc_out(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo,
                               int32_t hi) {
  acc = tq_mbqm_q(acc, multiplier, shift) + offset;
  if (acc < lo) acc = lo;
  if (acc > hi) acc = hi;
  return (int8_t)acc;
}

void tq_fully_connected_s8(const tq_fully_connected_params_t *p, const int8_t *input, const int8_t *filter,
                           int8_t *output) {
  const int32_t depth = p->accum_depth, units = p->output_depth;
  const int32_t filter_offset = p->filter_offset, output_offset = p->output_offset;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  const int32_t *const multiplier = p->multiplier, *const acc_init = p->acc_init;
  const int8_t *const shift = p->shift;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = input + b * depth;
    int32_t x_term = 0;
    if (filter_offset) {
      for (int32_t d = 0; d < depth; ++d) x_term += x[d];
      x_term *= filter_offset;
    }
    for (int32_t oc = 0; oc < units; oc += 4) {
      /* A tail of fewer than four channels repeats its last one. */
      const int32_t n = units - oc < 4 ? units - oc : 4;
      const int32_t oc1 = oc + (n > 1), oc2 = oc + (n > 2) * 2, oc3 = oc + (n > 3) * 3;
      const int8_t *w0 = filter + oc * depth, *w1 = filter + oc1 * depth;
      const int8_t *w2 = filter + oc2 * depth, *w3 = filter + oc3 * depth;
      int32_t a0 = acc_init[oc] + x_term, a1 = acc_init[oc1] + x_term;
      int32_t a2 = acc_init[oc2] + x_term, a3 = acc_init[oc3] + x_term;
      for (int32_t d = 0; d < depth; ++d) {
        const int32_t u = x[d];
        a0 += u * w0[d];
        a1 += u * w1[d];
        a2 += u * w2[d];
        a3 += u * w3[d];
      }
      output[oc] = tq_fc_out(a0, multiplier[oc], shift[oc], output_offset, act_min, act_max);
      if (n > 1) output[oc1] = tq_fc_out(a1, multiplier[oc1], shift[oc1], output_offset, act_min, act_max);
      if (n > 2) output[oc2] = tq_fc_out(a2, multiplier[oc2], shift[oc2], output_offset, act_min, act_max);
      if (n > 3) output[oc3] = tq_fc_out(a3, multiplier[oc3], shift[oc3], output_offset, act_min, act_max);
    }
    output += units;
  }
}
