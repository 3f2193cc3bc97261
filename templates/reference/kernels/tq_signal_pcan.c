#include "tq_signal_pcan.h"

#define PCAN_SNR_BITS 12
#define PCAN_OUTPUT_BITS 6

/* MostSignificantBit32 as GCC builds it (x > 2 here). */
static int32_t msb32(uint32_t x) {
  int32_t bits = 0;
  while (x) {
    x >>= 1;
    ++bits;
  }
  return bits;
}

/* WideDynamicFunction: the gain for noise estimate x, a quadratic through three table entries
 * per octave. TFLM's int32 products can pass 2^31 for extreme tables; they wrap there, and so
 * does this (unsigned multiply, then back to int32). */
static int16_t wide_dynamic(uint32_t x, const int16_t *lut) {
  if (x <= 2) return lut[x];
  const int16_t interval = (int16_t)msb32(x);
  lut += 4 * interval - 6;
  const int16_t frac = (int16_t)(((interval < 11) ? (x << (11 - interval)) : (x >> (interval - 11))) & 0x3FF);
  int32_t result = ((int32_t)lut[2] * frac) >> 5;
  result = (int32_t)((uint32_t)result + ((uint32_t)lut[1] << 5));
  result = (int32_t)((uint32_t)result * (uint32_t)(int32_t)frac);
  result = (int32_t)((uint32_t)result + (1u << 14)) >> 15;
  result = (int32_t)((uint32_t)result + (uint32_t)(int32_t)lut[0]);
  return (int16_t)result;
}

static uint32_t pcan_shrink(uint32_t x) {
  if (x < (2u << PCAN_SNR_BITS)) return (x * x) >> (2 + 2 * PCAN_SNR_BITS - PCAN_OUTPUT_BITS);
  return (x >> (PCAN_SNR_BITS - PCAN_OUTPUT_BITS)) - (1u << PCAN_OUTPUT_BITS);
}

void tq_signal_pcan(const uint32_t *input, const uint32_t *noise, const int16_t *gain_lut, uint32_t *output,
                    int32_t count, int32_t snr_shift) {
  for (int32_t i = 0; i < count; ++i) {
    const uint32_t gain = (uint32_t)(int32_t)wide_dynamic(noise[i], gain_lut);
    const uint32_t snr = (uint32_t)(((uint64_t)input[i] * gain) >> snr_shift);
    output[i] = pcan_shrink(snr);
  }
}
