#include "tq_softmax_s16.h"

/* TFLM's LUTLookup for int16: the top 9 bits pick an entry, the low 7 interpolate towards
 * the next (the slope held in int16, as TFLM holds it). */
static inline int16_t tq_lut_s16(int16_t value, const int16_t *lut) {
  const int32_t index = 256 + (value >> 7);
  const int32_t offset = value & 0x7F;
  const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
  return (int16_t)(lut[index] + ((slope * offset + 64) >> 7));
}

static inline int16_t tq_sat_s16(int32_t x) {
  return (int16_t)TQ_CLAMP(x, INT16_MIN, INT16_MAX);
}

static inline int tq_clz32(uint32_t x) {
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* reference_ops::SoftmaxInt16: per row, exp(x - max) from the table (rescaled so [-65535, 0]
 * is [-10, 0], recentred on the table's int16 range), kept in the output row while summing;
 * the sum normalised to its leading bit gives 1 / sum from the second table; each exp times it,
 * rounded, clamped to [0, 32767]. Element c is read once before output c is written (in-place
 * rule ROWWISE). */
void tq_softmax_s16(const tq_softmax_s16_params_t *p, const int16_t *input, int16_t *output) {
  const int32_t depth = p->depth;
  for (int32_t row = 0; row < p->outer_size; ++row) {
    const int16_t *x = input + row * depth;
    int16_t *y = output + row * depth;
    int16_t max = INT16_MIN;
    for (int32_t c = 0; c < depth; ++c) max = x[c] > max ? x[c] : max;
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t scaled = tq_mbqm(x[c] - max, p->input_multiplier, p->input_shift);
      y[c] = tq_lut_s16(tq_sat_s16(scaled + 32767), p->exp_lut);
      sum += y[c];
    }
    const int headroom_plus_one = tq_clz32((uint32_t)sum);
    const int32_t shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int16_t reciprocal = tq_lut_s16(tq_sat_s16(shifted - ((1 << 15) + (1 << 16))), p->recip_lut);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = (int64_t)(1 << (right_shift - 1));
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t v = (int32_t)(((int64_t)y[c] * reciprocal + round) >> right_shift);
      y[c] = (int16_t)TQ_CLAMP(v, 0, 32767);
    }
  }
}
