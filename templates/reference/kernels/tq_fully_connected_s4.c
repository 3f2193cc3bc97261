#include "tq_fully_connected_s4.h"
#include "tq_int4.h"

/* TFLM unpacks the int4 weights, then runs reference_integer_ops::FullyConnected
 * (per tensor); this reads each weight from its nibble instead. */
void tq_fully_connected_s4(const tq_fully_connected_s4_params_t *p, const int8_t *input,
                           const int8_t *packed_filter, const int32_t *bias, int8_t *output) {
  const int32_t depth = p->accum_depth, units = p->output_depth;
  const int32_t input_offset = p->input_offset, filter_offset = p->filter_offset;
  const int32_t output_offset = p->output_offset, multiplier = p->multiplier, shift = p->shift;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * depth;
    /* (w + filter_offset) * (x + input_offset) = w * (x + input_offset) + filter_offset * (x + input_offset) */
    int32_t offset_term = 0;
    if (filter_offset) {
      for (int32_t d = 0; d < depth; ++d) offset_term = tq_wrap_add(offset_term, filter_offset * (in[d] + input_offset));
    }
    for (int32_t oc = 0; oc < units; ++oc) {
      int32_t acc = tq_wrap_add(tq_s4_dot(packed_filter, oc * depth, in, depth, input_offset), offset_term);
      if (bias) acc = tq_wrap_add(acc, bias[oc]);
      acc = tq_wrap_add(tq_mbqm(acc, multiplier, shift), output_offset);
      output[b * units + oc] = (int8_t)TQ_CLAMP(acc, act_min, act_max);
    }
  }
}
