#include "tq_lstm.h"

/* One time step for `rows` batch rows (lstm_internal::LstmStep), unit by unit: TFLM computes each
 * gate for all units into a buffer, then applies element-wise steps; every step after the fully
 * connected sums is per unit, so doing them unit by unit gives the same numbers without buffers.
 * The recurrent sums read the previous hidden state, so the new one goes to the output row first
 * and becomes the hidden state once the row is done. The gate pre-activations are Q3.12; the
 * sigmoid/tanh grid is 3 times that (multiplier 3, no shift, as TFLM's Sigmoid/Tanh calls). */
#define TQ_LSTM_STEP(X_T, BIAS_T, DOT, REQUANT)                                                          \
  for (int32_t r = 0; r < rows; ++r) {                                                                   \
    const X_T *x = input + r * n_in;                                                                      \
    X_T *h = hidden + r * n_h;                                                                            \
    int16_t *c = cell + r * n_h;                                                                          \
    X_T *y = output + r * n_h;                                                                            \
    for (int32_t u = 0; u < n_h; ++u) {                                                                   \
      int32_t gate[4];                                                                                    \
      for (int g = 0; g < 4; ++g) {                                                                       \
        const BIAS_T acc_in = DOT(x, p->input_weights + (g * n_h + u) * n_in, n_in, bias[g * n_h + u]);   \
        const BIAS_T acc_h = DOT(h, p->recurrent_weights + (g * n_h + u) * n_h, n_h, bias[(4 + g) * n_h + u]); \
        const int32_t a = tq_sat16(REQUANT(acc_in, p->fc_multiplier[2 * g], p->fc_shift[2 * g]));        \
        const int32_t b = tq_sat16(REQUANT(acc_h, p->fc_multiplier[2 * g + 1], p->fc_shift[2 * g + 1])); \
        gate[g] = tq_sat16(a + b) * 3;                                                                    \
      }                                                                                                   \
      const int32_t f = tq_lstm_sigmoid(gate[0], table);                                                  \
      const int32_t i = tq_lstm_sigmoid(gate[1], table);                                                  \
      const int32_t cg = tq_lstm_tanh(gate[2], table);                                                    \
      const int32_t o = tq_lstm_sigmoid(gate[3], table);                                                  \
      const int32_t kept = tq_sat16(tq_mbqm(f * c[u], p->forget_multiplier, p->forget_shift));           \
      const int32_t added = tq_sat16(tq_mbqm(i * cg, p->update_multiplier, p->update_shift));            \
      int32_t cu = tq_sat16(kept + added);                                                                \
      if (p->cell_clip >= 0) cu = TQ_CLAMP(cu, -p->cell_clip, p->cell_clip);                              \
      c[u] = (int16_t)cu;                                                                                 \
      const int32_t t = tq_lstm_tanh((cu * p->cell_tanh_multiplier + half) >> p->cell_tanh_shift, table); \
      const int32_t v = p->hidden_zero_point + tq_mbqm(t * o, p->hidden_multiplier, p->hidden_shift);    \
      y[u] = (X_T)TQ_CLAMP(v, p->hidden_min, p->hidden_max);                                              \
    }                                                                                                     \
    memcpy(h, y, (size_t)n_h * sizeof(X_T));                                                              \
  }

/* Sequences one after another (batch-major: each its own batch row of the state), each over its
 * time steps; the input and output are [sequence][step][rows][size]. */
#define TQ_LSTM_RUN(X_T, BIAS_T, DOT, REQUANT)                                              \
  const int32_t n_in = p->input_size, n_h = p->hidden_size, rows = p->rows;                 \
  const BIAS_T *bias = (const BIAS_T *)p->effective_bias;                                   \
  const uint16_t *table = p->sigmoid_table;                                                 \
  const int32_t half = p->cell_tanh_shift > 0 ? (int32_t)1 << (p->cell_tanh_shift - 1) : 0; \
  for (int32_t s = 0; s < p->sequences; ++s) {                                              \
    X_T *hidden = hidden_state + s * n_h;                                                   \
    int16_t *cell = cell_state + s * n_h;                                                   \
    for (int32_t t = 0; t < p->steps; ++t) {                                                \
      const X_T *input = in + (s * p->steps + t) * rows * n_in;                             \
      X_T *output = out + (s * p->steps + t) * rows * n_h;                                  \
      TQ_LSTM_STEP(X_T, BIAS_T, DOT, REQUANT)                                               \
    }                                                                                       \
  }

/* bias + the dot product, the int32 accumulator wrapping as TFLM's (the zero-point terms are in the
 * effective bias: the same sum modulo 2^32). */
static inline int32_t tq_lstm_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t bias) {
  uint32_t acc = (uint32_t)bias;
  for (int32_t k = 0; k < n; ++k) acc += (uint32_t)(w[k] * x[k]);
  return (int32_t)acc;
}

/* bias + the dot product in int64, exactly (TFLM's 16x8 accumulator). */
static inline int64_t tq_lstm_dot_s16(const int16_t *x, const int8_t *w, int32_t n, int64_t bias) {
  return bias + tq_dot_s16(x, w, n);
}

static inline int32_t tq_lstm_requant_s8(int32_t acc, int32_t multiplier, int32_t shift) {
  return tq_mbqm(acc, multiplier, shift);
}

static inline int32_t tq_lstm_requant_s16(int64_t acc, int32_t multiplier, int32_t shift) {
  return tq_mbqm64(acc, multiplier, shift);
}

void tq_lstm_s8(const tq_lstm_params_t *p, const int8_t *in, int8_t *hidden_state, int16_t *cell_state,
                int8_t *out) {
  TQ_LSTM_RUN(int8_t, int32_t, tq_lstm_dot_s8, tq_lstm_requant_s8)
}

void tq_lstm_s16(const tq_lstm_params_t *p, const int16_t *in, int16_t *hidden_state, int16_t *cell_state,
                 int16_t *out) {
  TQ_LSTM_RUN(int16_t, int64_t, tq_lstm_dot_s16, tq_lstm_requant_s16)
}
