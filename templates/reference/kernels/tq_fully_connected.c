#include "tq_dot.h"
#include "tq_fully_connected.h"

/* reference_integer_ops::FullyConnected{,PerChannel}: per-tensor weights arrive
 * with their multiplier repeated per channel, so one loop serves both.
 * TFLM sums (w + filter_offset) * (x + input_offset); expanded, that is
 * w * x + filter_offset * sum(x) + acc_init (the rest is constant), the same
 * int32 value since the sums wrap mod 2^32 either way. The weights come blocked
 * (tq_dot.h): eight output channels a pass share every input byte loaded. */
void tq_fully_connected_s8(const tq_fully_connected_params_t *p, const int8_t *input, const int8_t *filter,
                           int8_t *output) {
  const int32_t depth = p->accum_depth, units = p->output_depth;
  const int32_t filter_offset = p->filter_offset;
  const int32_t *const acc_init = p->acc_init;
  tq_requant_t rq = {p->multiplier, p->shift, p->output_offset, p->act_min, p->act_max};
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = input + b * depth;
    int32_t x_term = 0;
    if (filter_offset) {
      for (int32_t d = 0; d < depth; ++d) x_term = tq_wrap_add(x_term, x[d]);
      x_term = (int32_t)((uint32_t)x_term * (uint32_t)filter_offset);  /* wraps, as tq_wrap_add */
    }
    int32_t oc = 0;
    for (; oc + TQ_BLOCK <= units; oc += TQ_BLOCK) {
      tq_acc8_t acc = tq_acc8_load(acc_init, oc);
      acc.a0 = tq_wrap_add(acc.a0, x_term);
      acc.a1 = tq_wrap_add(acc.a1, x_term);
      acc.a2 = tq_wrap_add(acc.a2, x_term);
      acc.a3 = tq_wrap_add(acc.a3, x_term);
      acc.a4 = tq_wrap_add(acc.a4, x_term);
      acc.a5 = tq_wrap_add(acc.a5, x_term);
      acc.a6 = tq_wrap_add(acc.a6, x_term);
      acc.a7 = tq_wrap_add(acc.a7, x_term);
      acc = tq_dot8(x, 0, filter + oc * depth, depth, acc);
      tq_acc8_store(&rq, acc, oc, output);
    }
    const int32_t lanes = units - oc; /* the last channels, blocked together */
    for (int32_t k = 0; k < lanes; ++k) {
      const int32_t acc = tq_dot1(x, 0, filter + oc * depth + k, lanes, depth, tq_wrap_add(acc_init[oc + k], x_term));
      output[oc + k] = tq_requant(&rq, acc, oc + k);
    }
    output += units;
  }
}
