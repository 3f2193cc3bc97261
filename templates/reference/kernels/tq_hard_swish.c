#include "tq_hard_swish.h"
#include "tq_fixedpoint.h"

/* reference_ops::HardSwish (int8): x * relu6(x + 3) / 6, all in int16 fixed point.
 * The input goes to a 'hires' scale (times 2^7), from which one multiplier gives
 * the output-scale value and another the "reluish" factor relu6(x + 3) / 6 in Q15. */

static int16_t tq_hard_swish_shl_sat(int16_t x, int amount) {
  const int64_t shifted = (int64_t)x * ((int64_t)1 << amount);
  return (int16_t)TQ_CLAMP(shifted, INT16_MIN, INT16_MAX);
}

/* Like tq_srdhm16, but truncating: it cancels the rounding bias of the steps before. */
static int16_t tq_hard_swish_sdhm16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* relu6(x + 3) / 6 in Q15 within [0, 1], from x on the hires scale. The left shift
 * is split so that saturation, if any, happens after the multiplier. */
static int16_t tq_hard_swish_reluish(const tq_hard_swish_params_t *p, int16_t hires) {
  int16_t v = hires;
  if (p->reluish_exponent > 0) v = tq_hard_swish_shl_sat(v, p->reluish_exponent - 1);
  v = tq_srdhm16(v, (int16_t)p->reluish_multiplier);
  if (p->reluish_exponent > 0) v = tq_hard_swish_shl_sat(v, 1);
  if (p->reluish_exponent < 0) v = tq_rdbpot16(v, -p->reluish_exponent);
  return (int16_t)(((int32_t)v + (1 << 15)) >> 1);
}

void tq_hard_swish_s8(const tq_hard_swish_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int16_t x = (int16_t)((int32_t)input[i] - p->input_zero_point);
    const int16_t hires = (int16_t)(x * (1 << 7));
    const int16_t on_output_scale = tq_srdhm16(hires, (int16_t)p->output_multiplier);
    const int16_t preshift = tq_hard_swish_sdhm16(tq_hard_swish_reluish(p, hires), on_output_scale);
    const int16_t y = (int16_t)(tq_rdbpot16(preshift, -p->output_exponent) + p->output_zero_point);
    output[i] = (int8_t)TQ_CLAMP(y, INT8_MIN, INT8_MAX);
  }
}
