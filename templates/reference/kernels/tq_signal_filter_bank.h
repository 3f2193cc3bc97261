#ifndef TQ_SIGNAL_FILTER_BANK_H
#define TQ_SIGNAL_FILTER_BANK_H
#include <stdint.h>

/* TFLM's signal-library filter bank ops (signal/src/filter_bank*.cc, square_root_*.cc, log.cc). */

typedef struct {
  int32_t channels; /* num_channels: channels 0..num_channels are accumulated */
  int32_t count;    /* channels 1..count are output */
  const int16_t *weights;
  const int16_t *unweights;
  const int16_t *frequency_starts;
  const int16_t *weight_starts;
  const int16_t *widths;
} tq_filter_bank_params_t;

/* work: channels + 1 uint64 values (the op's scratch). */
void tq_signal_filter_bank(const tq_filter_bank_params_t *p, const uint32_t *input, uint64_t *output, uint64_t *work);

void tq_signal_filter_bank_square_root(const uint64_t *input, int32_t scale_bits, uint32_t *output, int32_t count);

typedef struct {
  int32_t channels;
  uint32_t smoothing, one_minus_smoothing;
  uint32_t alternate_smoothing, alternate_one_minus_smoothing;
  uint32_t min_signal_remaining;
  uint32_t smoothing_bits, spectral_subtraction_bits;
  int32_t clamping;
} tq_spectral_subtraction_params_t;

/* noise: the op's state, updated; noise_out: its copy after the update. */
void tq_signal_spectral_subtraction(const tq_spectral_subtraction_params_t *p, const uint32_t *input,
                                    uint32_t *noise, uint32_t *output, uint32_t *noise_out);

void tq_signal_filter_bank_log(const uint32_t *input, int16_t *output, int32_t count, uint32_t output_scale,
                               uint32_t correction_bits);

#endif
