#include "tq_signal_filter_bank.h"

void tq_signal_filter_bank(const tq_filter_bank_params_t *p, const uint32_t *input, uint64_t *output,
                           uint64_t *work) {
  uint64_t weighted = 0, unweighted = 0;
  for (int32_t i = 0; i < p->channels + 1; ++i) {
    const int32_t freq = p->frequency_starts[i], weight = p->weight_starts[i];
    for (int32_t j = 0; j < p->widths[i]; ++j) {
      /* int16 * uint64: the weight converts to uint64 (sign-extended, modulo 2^64), as in TFLM */
      weighted += (uint64_t)(int64_t)p->weights[weight + j] * (uint64_t)input[freq + j];
      unweighted += (uint64_t)(int64_t)p->unweights[weight + j] * (uint64_t)input[freq + j];
    }
    work[i] = weighted;
    weighted = unweighted;
    unweighted = 0;
  }
  for (int32_t i = 0; i < p->count; ++i) output[i] = work[i + 1];
}

/* MostSignificantBit32/64 as GCC builds them (the argument is never 0 here). */
static int32_t msb32(uint32_t x) {
  int32_t bits = 0;
  while (x) {
    x >>= 1;
    ++bits;
  }
  return bits;
}

static int32_t msb64(uint64_t x) {
  int32_t bits = 0;
  while (x) {
    x >>= 1;
    ++bits;
  }
  return bits;
}

/* TFLM's Sqrt32: the bitwise square root, rounded up when the remainder exceeds the root. */
static uint16_t sqrt32(uint32_t num) {
  if (num == 0) return 0;
  uint32_t res = 0;
  int32_t max_bit_number = 32 - msb32(num);
  max_bit_number |= 1;
  uint32_t bit = 1u << (31 - max_bit_number);
  int32_t iterations = (31 - max_bit_number) / 2 + 1;
  while (iterations--) {
    if (num >= res + bit) {
      num -= res + bit;
      res = (res >> 1u) + bit;
    } else {
      res >>= 1u;
    }
    bit >>= 2u;
  }
  if (num > res && res != 0xFFFF) ++res;
  return (uint16_t)res;
}

static uint32_t sqrt64(uint64_t num) {
  if ((num >> 32) == 0) return sqrt32((uint32_t)num);
  uint64_t res = 0;
  int32_t max_bit_number = 64 - msb64(num);
  max_bit_number |= 1;
  uint64_t bit = (uint64_t)1 << (63 - max_bit_number);
  int32_t iterations = (63 - max_bit_number) / 2 + 1;
  while (iterations--) {
    if (num >= res + bit) {
      num -= res + bit;
      res = (res >> 1u) + bit;
    } else {
      res >>= 1u;
    }
    bit >>= 2u;
  }
  if (num > res && res != 0xFFFFFFFFu) ++res;
  return (uint32_t)res;
}

/* The shift is a run-time value (the FFT's auto-scale bits, 0..16). C leaves a shift by 32 or
 * more undefined; the golden TFLM (x86) uses its low 5 bits, and so does this. */
void tq_signal_filter_bank_square_root(const uint64_t *input, int32_t scale_bits, uint32_t *output, int32_t count) {
  const uint32_t shift = (uint32_t)scale_bits & 31u;
  for (int32_t i = 0; i < count; ++i) output[i] = sqrt64(input[i]) >> shift;
}

void tq_signal_spectral_subtraction(const tq_spectral_subtraction_params_t *p, const uint32_t *input,
                                    uint32_t *noise, uint32_t *output, uint32_t *noise_out) {
  for (int32_t i = 0; i < p->channels; ++i) {
    const int odd = i & 1; /* odd channels use the alternate smoothing */
    const uint32_t smoothing = odd ? p->alternate_smoothing : p->smoothing;
    const uint32_t one_minus = odd ? p->alternate_one_minus_smoothing : p->one_minus_smoothing;
    const uint32_t signal_scaled_up = input[i] << p->smoothing_bits;
    noise[i] = (uint32_t)(((uint64_t)signal_scaled_up * smoothing + (uint64_t)noise[i] * one_minus) >>
                          p->spectral_subtraction_bits);
    uint32_t estimate_scaled_up = noise[i];
    if (estimate_scaled_up > signal_scaled_up) {
      estimate_scaled_up = signal_scaled_up;
      if (p->clamping) noise[i] = estimate_scaled_up;
    }
    const uint32_t floor = (uint32_t)(((uint64_t)input[i] * p->min_signal_remaining) >> p->spectral_subtraction_bits);
    const uint32_t subtracted = (signal_scaled_up - estimate_scaled_up) >> p->smoothing_bits;
    output[i] = subtracted > floor ? subtracted : floor;
  }
  for (int32_t i = 0; i < p->channels; ++i) noise_out[i] = noise[i];
}

/* TFLM's log.cc: log2 in Q16 from a 128-segment correction table, times ln 2 (45426 / 2^16). */
static const uint16_t log_lut[130] = {
    0,    224,  442,  654,  861,  1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944,
    3087, 3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791,
    4864, 4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578,
    5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498,
    5470, 5439, 5406, 5370, 5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697,
    4630, 4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286,
    3186, 3084, 2981, 2875, 2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353,
    1224, 1094, 963,  830,  695,  559,  421,  282,  142,  0,    0};

static uint32_t log2_fraction(uint32_t x, uint32_t log2x) {
  int32_t frac = (int32_t)(x - ((uint32_t)1 << log2x));
  if (log2x < 16) {
    frac = (int32_t)((uint32_t)frac << (16 - log2x));
  } else {
    frac >>= log2x - 16;
  }
  const uint32_t base_seg = (uint32_t)frac >> (16 - 7);
  const uint32_t seg_unit = (UINT32_C(1) << 16) >> 7;
  const int32_t c0 = log_lut[base_seg];
  const int32_t c1 = log_lut[base_seg + 1];
  const int32_t seg_base = (int32_t)(seg_unit * base_seg);
  const int32_t rel_pos = ((c1 - c0) * (frac - seg_base)) >> 16;
  return (uint32_t)(frac + c0 + rel_pos);
}

static uint32_t log32(uint32_t x, uint32_t out_scale) {
  const uint32_t integer = (uint32_t)msb32(x) - 1;
  const uint32_t fraction = log2_fraction(x, integer);
  const uint32_t log2 = (integer << 16) + fraction;
  const uint32_t round = 65536 / 2;
  const uint32_t loge = (uint32_t)(((uint64_t)45426 * log2 + round) >> 16);
  return (out_scale * loge + round) >> 16;
}

void tq_signal_filter_bank_log(const uint32_t *input, int16_t *output, int32_t count, uint32_t output_scale,
                               uint32_t correction_bits) {
  for (int32_t i = 0; i < count; ++i) {
    const uint32_t scaled = input[i] << correction_bits;
    if (scaled > 1) {
      const uint32_t value = log32(scaled, output_scale);
      output[i] = (int16_t)(value < (uint32_t)INT16_MAX ? value : (uint32_t)INT16_MAX);
    } else {
      output[i] = 0;
    }
  }
}
