#include "tq_fully_connected.h"

/* reference_integer_ops::FullyConnected{,PerChannel}: per-tensor weights arrive
 * with their multiplier repeated per channel, so one loop serves both. */
void tq_fully_connected_s8(const tq_fully_connected_params_t *p, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->accum_depth;
    for (int32_t oc = 0; oc < p->output_depth; ++oc) {
      const int8_t *w = filter + oc * p->accum_depth;
      int32_t acc = 0;
      for (int32_t d = 0; d < p->accum_depth; ++d) {
        acc += (w[d] + p->filter_offset) * (in[d] + p->input_offset);
      }
      if (bias) acc += bias[oc];
      acc = tq_mbqm(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
      output[b * p->output_depth + oc] = (int8_t)TQ_CLAMP(acc, p->act_min, p->act_max);
    }
  }
}
