#include "tq_sigmoid_s16.h"

/* The input on the table's grid: (x * multiplier + half) >> shift, in int32 (at most 2^31 - 2^16
 * for an int16 x and a multiplier below 2^15, as TFLM's Prepare makes it). */
static inline int32_t tq_sigmoid_grid(const tq_sigmoid_s16_params_t *p, int16_t x) {
  const int32_t half = p->input_shift > 0 ? (int32_t)1 << (p->input_shift - 1) : 0;
  return (x * p->input_multiplier + half) >> p->input_shift;
}

/* reference_integer_ops::Logistic (int16): 9 fraction bits between table entries; the
 * negative half mirrors the positive one (sigmoid(-x) = 1 - sigmoid(x)). */
void tq_logistic_s16(const tq_sigmoid_s16_params_t *p, const int16_t *input, int16_t *output) {
  const uint16_t *table = p->table;
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = tq_sigmoid_grid(p, input[i]);
    const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
    const uint32_t h = ax >> 9;
    uint32_t r;
    if (h >= 255) {
      r = (uint32_t)0x7FFF << 10;
    } else {
      const uint32_t a = table[h], b = table[h + 1];
      r = (a << 9) + (ax & 0x1FF) * (b - a);
    }
    r = x >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    output[i] = (int16_t)(r >> 10);
  }
}

/* reference_integer_ops::Tanh (int16): 8 fraction bits between entries, 2 sigmoid - 1. */
void tq_tanh_s16(const tq_sigmoid_s16_params_t *p, const int16_t *input, int16_t *output) {
  const uint16_t *table = p->table;
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = tq_sigmoid_grid(p, input[i]);
    const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
    const uint32_t h = ax >> 8;
    int32_t r;
    if (h >= 255) {
      r = 0xFFFF << 8;
    } else {
      const int32_t a = table[h], b = table[h + 1];
      r = (a << 8) + (int32_t)(ax & 0xFF) * (b - a);
    }
    r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    output[i] = (int16_t)(r >> 8);
  }
}
