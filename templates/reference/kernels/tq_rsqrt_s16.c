#include "tq_abs_rsqrt_s16.h"
#include "tq_inv_sqrt.h"

/* RsqrtEvalQuantized<int16_t>: 1/sqrt(x) scaled by 2^20, then the output multiplier with the
 * 20 bits shifted back out; 0 gives 32767. TFLM's Invoke fails below 0; this writes what its
 * arithmetic gives there (every x up to 1 as 1). */
void tq_rsqrt_s16(const tq_abs_rsqrt_s16_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = input[i];
    if (x == 0) {
      output[i] = INT16_MAX;
      continue;
    }
    int32_t inv_multiplier;
    int inv_shift;
    tq_inv_sqrt_multiplier_exp(x, -1, &inv_multiplier, &inv_shift);
    const int32_t data = tq_mbqm(1, inv_multiplier, inv_shift + 20);
    const int32_t v = tq_mbqm(data, p->multiplier, p->shift);
    output[i] = (int16_t)TQ_CLAMP(v, INT16_MIN, INT16_MAX);
  }
}
