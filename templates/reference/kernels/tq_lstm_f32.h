#ifndef TQ_LSTM_F32_H
#define TQ_LSTM_F32_H
#include "tq_f32.h"

/* float32 UNIDIRECTIONAL_SEQUENCE_LSTM: weights and biases per gate (forget, input, cell, output). */
typedef struct {
  int32_t sequences, rows, steps, input_size, hidden_size;
  float cell_clip; /* the cell is clipped to +-cell_clip when it is above 0 */
  const float *input_weights;     /* [4][hidden][input] */
  const float *recurrent_weights; /* [4][hidden][hidden] */
  const float *bias;              /* [4][hidden] */
} tq_lstm_f32_params_t;

void tq_lstm_f32(const tq_lstm_f32_params_t *p, const float *in, float *hidden_state, float *cell_state, float *out);
#endif
