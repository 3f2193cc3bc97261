#include "tq_svdf.h"

/* 1. The whole state moves one element left (each filter's oldest column falls out; TFLM moves
 *    the buffer as one run, and every last column is overwritten next).
 * 2. Each filter's newest column: its feature sum, requantized, saturated to the state's type,
 *    plus the state's zero point (stored in the state's type, as TFLM's assignment does).
 * 3. Each unit: bias + the sum over its `rank` filters of time weights x (state - zero point),
 *    requantized to the output. TFLM sums per filter into a scratch buffer and then per unit;
 *    int32 sums wrap, so summing in one pass gives the same value. */
#define TQ_SVDF_RUN(STATE_T)                                                                           \
  const int32_t n_in = p->input_size, n_f = p->filters, n_m = p->memory;                              \
  const int32_t total = p->batches * n_f * n_m;                                                        \
  if (total > 1) memmove(state, state + 1, (size_t)(total - 1) * sizeof(STATE_T));                    \
  for (int32_t b = 0; b < p->batches; ++b) {                                                           \
    const int8_t *x = input + b * n_in;                                                                \
    for (int32_t f = 0; f < n_f; ++f) {                                                                \
      const int8_t *w = feature_weights + f * n_in;                                                    \
      uint32_t dot = 0;                                                                                \
      for (int32_t c = 0; c < n_in; ++c) dot += (uint32_t)(w[c] * (x[c] - p->input_zero_point));     \
      int32_t v = tq_mbqm((int32_t)dot, p->feature_multiplier, p->feature_shift);                      \
      v = TQ_CLAMP(v, p->state_min, p->state_max);                                                     \
      state[(b * n_f + f) * n_m + n_m - 1] = (STATE_T)(p->state_zero_point + v);                       \
    }                                                                                                  \
    for (int32_t u = 0; u < p->units; ++u) {                                                           \
      uint32_t acc = (uint32_t)bias[u];                                                                \
      for (int32_t f = u * p->rank; f < (u + 1) * p->rank; ++f) {                                      \
        const STATE_T *s = state + (b * n_f + f) * n_m;                                                \
        const STATE_T *w = time_weights + f * n_m;                                                     \
        for (int32_t m = 0; m < n_m; ++m) acc += (uint32_t)(w[m] * (s[m] - p->state_zero_point));     \
      }                                                                                                \
      const int32_t v = tq_mbqm((int32_t)acc, p->output_multiplier, p->output_shift) + p->output_zero_point; \
      output[b * p->units + u] = (int8_t)TQ_CLAMP(v, INT8_MIN, INT8_MAX);                              \
    }                                                                                                  \
  }

void tq_svdf_s8(const tq_svdf_params_t *p, const int8_t *input, int8_t *state, const int8_t *feature_weights,
                const int8_t *time_weights, const int32_t *bias, int8_t *output) {
  TQ_SVDF_RUN(int8_t)
}

void tq_svdf_state_s16(const tq_svdf_params_t *p, const int8_t *input, int16_t *state,
                       const int8_t *feature_weights, const int16_t *time_weights, const int32_t *bias,
                       int8_t *output) {
  TQ_SVDF_RUN(int16_t)
}
