#ifndef TQ_LSTM_H
#define TQ_LSTM_H
#include "tq_common_s16.h"

/* UNIDIRECTIONAL_SEQUENCE_LSTM as TFLM's integer LSTM (lstm_eval.h): int8 or int16 activations,
 * int8 weights, an int16 cell state. Per-gate arrays are in the order forget, input, cell, output.
 * The hidden and cell state are the model's persistent tensors: updated in place, kept across
 * invokes. The output at each step is the new hidden state. */
typedef struct {
  int32_t sequences;  /* independent runs over time: the batches (batch-major), or 1 (time-major) */
  int32_t rows;       /* batch rows each step computes: 1, or the batches (time-major) */
  int32_t steps, input_size, hidden_size;
  int32_t fc_multiplier[8]; /* gate g: [2g] the input's fully connected, [2g + 1] the hidden state's */
  int32_t fc_shift[8];
  int32_t forget_multiplier, forget_shift; /* forget gate x cell -> cell */
  int32_t update_multiplier, update_shift; /* input gate x cell gate -> cell */
  int32_t hidden_multiplier, hidden_shift, hidden_zero_point, hidden_min, hidden_max;
  int32_t cell_clip;                       /* clip the cell to +-cell_clip; -1: no clipping */
  int32_t cell_tanh_multiplier, cell_tanh_shift;
  const int8_t *input_weights;             /* [4][hidden][input] */
  const int8_t *recurrent_weights;         /* [4][hidden][hidden] */
  const void *effective_bias;              /* int32 (s8) or int64 (s16): [2][4][hidden], bias + zero-point terms */
  const uint16_t *sigmoid_table;           /* 256 entries, sigmoid(i / 24) in Q0.16 */
} tq_lstm_params_t;

void tq_lstm_s8(const tq_lstm_params_t *p, const int8_t *input, int8_t *hidden, int16_t *cell, int8_t *output);
void tq_lstm_s16(const tq_lstm_params_t *p, const int16_t *input, int16_t *hidden, int16_t *cell,
                 int16_t *output);

/* reference_integer_ops::Logistic (int16) of x already on the table's grid (1/(3*4096) a unit):
 * 9 fraction bits between entries, the negative half mirrored. */
static inline int16_t tq_lstm_sigmoid(int32_t x, const uint16_t *table) {
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
  return (int16_t)(r >> 10);
}

/* reference_integer_ops::Tanh (int16) of x on the same grid: 8 fraction bits, 2 sigmoid(2x) - 1. */
static inline int16_t tq_lstm_tanh(int32_t x, const uint16_t *table) {
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
  return (int16_t)(r >> 8);
}

static inline int16_t tq_sat16(int32_t x) {
  return (int16_t)TQ_CLAMP(x, INT16_MIN, INT16_MAX);
}

#endif
