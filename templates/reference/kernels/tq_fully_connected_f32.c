#include "tq_fully_connected_f32.h"

/* reference_ops::FullyConnected (float): each output sums input * weight from 0.0f in input
 * order, adds the bias (0.0f without one) and clamps. */
void tq_fully_connected_f32(const tq_fully_connected_f32_params_t *p, const float *input, const float *filter,
                            const float *bias, float *output) {
  const int32_t depth = p->accum_depth, out_depth = p->output_depth;
  const float lo = p->act_min, hi = p->act_max;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *x = input + b * depth;
    for (int32_t oc = 0; oc < out_depth; ++oc) {
      const float *w = filter + oc * depth;
      float total = 0.0f;
      for (int32_t d = 0; d < depth; ++d) total += x[d] * w[d];
      const float bias_value = bias != NULL ? bias[oc] : 0.0f;
      *output++ = tq_clamp_f32(total + bias_value, lo, hi);
    }
  }
}
