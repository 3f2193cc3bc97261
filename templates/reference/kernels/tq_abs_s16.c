#include "tq_abs_rsqrt_s16.h"

/* AbsEvalQuantized<int16_t>: |x| (up to 32768), rescaled when the scales differ, clamped.
 * Lowering refuses a shift that would overflow |x| << shift, as TFLM's is undefined there.
 * wraps: TFLM's unquantized int16 path (std::abs stored back, not clamped): |-32768| is -32768. */
void tq_abs_s16(const tq_abs_rsqrt_s16_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = input[i];
    int32_t v = x < 0 ? -x : x;
    if (p->rescale) v = tq_mbqm(v, p->multiplier, p->shift);
    output[i] = p->wraps ? (int16_t)(uint16_t)v : (int16_t)TQ_CLAMP(v, INT16_MIN, INT16_MAX);
  }
}
