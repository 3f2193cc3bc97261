#include "tq_cumsum_f32.h"

/* reference_ops::CumSum<float>: along the axis a running sum from 0.0f, forward or reversed;
 * exclusive writes the sum before adding. Element i is read just before output i is written. */
void tq_cumsum_f32(const tq_cumsum_f32_params_t *p, const float *input, float *output) {
  const int32_t depth = p->depth, after = p->after;
  for (int32_t o = 0; o < p->before; ++o) {
    for (int32_t i = 0; i < after; ++i) {
      float acc = 0.0f;
      for (int32_t d = 0; d < depth; ++d) {
        const int32_t k = p->reverse ? depth - 1 - d : d;
        const int32_t index = (o * depth + k) * after + i;
        if (p->exclusive) {
          const float x = input[index];
          output[index] = acc;
          acc = acc + x;
        } else {
          acc = acc + input[index];
          output[index] = acc;
        }
      }
    }
  }
}
