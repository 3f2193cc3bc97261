#include "tq_cumsum.h"

#define TQ_CUMSUM_LEFT_SHIFT 20

/* reference_ops::CumSum (int8). Each element is read before its output is written and
 * never read again, so the output may overlay the input. The running sum starts at the
 * input offset on the common scale, as TFLM's does, and wraps like its int32 adds. */
void tq_cumsum_s8(const tq_cumsum_params_t *p, const int8_t *input, int8_t *output) {
  const int32_t start = tq_mbqm_small((int32_t)((uint32_t)p->input_offset << TQ_CUMSUM_LEFT_SHIFT),
                                      p->input_multiplier, p->input_shift);
  const int32_t step = p->reverse ? -p->after : p->after;
  for (int32_t b = 0; b < p->before; ++b) {
    for (int32_t a = 0; a < p->after; ++a) {
      int32_t index = b * p->depth * p->after + a + (p->reverse ? (p->depth - 1) * p->after : 0);
      int32_t acc = start;
      for (int32_t d = 0; d < p->depth; ++d, index += step) {
        const int32_t y = p->input_offset + input[index];
        const int32_t scaled = tq_mbqm_small((int32_t)((uint32_t)y << TQ_CUMSUM_LEFT_SHIFT),
                                             p->input_multiplier, p->input_shift);
        const int32_t before_add = acc;
        acc = tq_wrap_add(acc, scaled);
        const int32_t sum = p->exclusive ? before_add : acc;
        const int32_t v = tq_mbqm_small(sum, p->output_multiplier, p->output_shift) + p->output_offset;
        output[index] = (int8_t)TQ_CLAMP(v, INT8_MIN, INT8_MAX);
      }
    }
  }
}
