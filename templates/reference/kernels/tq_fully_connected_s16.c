#include "tq_fully_connected_s16.h"

/* reference_integer_ops::FullyConnected{,PerChannel} for int16 input: per output unit the sum of
 * (w + filter_offset) * (x + input_offset), plus the bias, requantized, plus the output offset,
 * clamped. `wide` picks TFLM's accumulator: int64 (each product below 2^24, so 128 of them sum
 * exactly in int32 before joining it; requantized by tq_mbqm64) or int32 (wrapping; tq_mbqm).
 * Inlined with a constant `wide`, each entry point keeps one loop. */
static inline void tq_fully_connected_s16_run(const tq_fully_connected_s16_params_t *p, const int16_t *input,
                                              const int8_t *filter, const int64_t *bias64, const int32_t *bias32,
                                              int16_t *output, const int wide) {
  const int32_t depth = p->accum_depth, units = p->output_depth;
  const int32_t in_off = p->input_offset, w_off = p->filter_offset;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *x = input + b * depth;
    for (int32_t oc = 0; oc < units; ++oc) {
      const int8_t *w = filter + oc * depth;
      int64_t acc = 0;
      uint32_t acc32 = 0;
      for (int32_t d0 = 0; d0 < depth; d0 += 128) {
        const int32_t d1 = d0 + 128 < depth ? d0 + 128 : depth;
        uint32_t part = 0;
        for (int32_t d = d0; d < d1; ++d) part += (uint32_t)((w[d] + w_off) * (x[d] + in_off));
        if (wide) {
          acc += (int32_t)part;
        } else {
          acc32 += part;
        }
      }
      const int32_t v = wide
          ? tq_mbqm64((int64_t)((uint64_t)acc + (uint64_t)(bias64 ? bias64[oc] : 0)), p->multiplier[oc], p->shift[oc])
          : tq_mbqm((int32_t)(acc32 + (uint32_t)(bias32 ? bias32[oc] : 0)), p->multiplier[oc], p->shift[oc]);
      const int32_t out = tq_wrap_add(v, p->output_offset);
      output[oc] = (int16_t)TQ_CLAMP(out, p->act_min, p->act_max);
    }
    output += units;
  }
}

void tq_fully_connected_s16(const tq_fully_connected_s16_params_t *p, const int16_t *input, const int8_t *filter,
                            const int64_t *bias, int16_t *output) {
  tq_fully_connected_s16_run(p, input, filter, bias, NULL, output, 1);
}

void tq_fully_connected_s16_acc32(const tq_fully_connected_s16_params_t *p, const int16_t *input,
                                  const int8_t *filter, const int32_t *bias, int16_t *output) {
  tq_fully_connected_s16_run(p, input, filter, NULL, bias, output, 0);
}
