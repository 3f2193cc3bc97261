/* tinyq's own Helium int8 LSTM (not part of CMSIS-NN): TFLM's integer LSTM (lstm_eval.h) exactly as
 * the reference kernel templates/reference/kernels/tq_lstm.c computes it, with each unit's eight
 * fully connected sums (four gates, input and hidden state) taken 16 lanes at a time: one load of
 * the input (hidden state) chunk, four weight loads, four dot products. int32 sums wrap, so their
 * order does not matter. Without Helium a plain C loop does the same. The parameter block has the
 * reference kernel's layout (tq_lstm_params_t). */
#ifndef TQ_MVE_LSTM_H
#define TQ_MVE_LSTM_H

#include "tq_common.h"

typedef struct {
  int32_t sequences, rows, steps, input_size, hidden_size;
  int32_t fc_multiplier[8];
  int32_t fc_shift[8];
  int32_t forget_multiplier, forget_shift;
  int32_t update_multiplier, update_shift;
  int32_t hidden_multiplier, hidden_shift, hidden_zero_point, hidden_min, hidden_max;
  int32_t cell_clip;
  int32_t cell_tanh_multiplier, cell_tanh_shift;
  const int8_t *input_weights;    /* [4][hidden][input] */
  const int8_t *recurrent_weights; /* [4][hidden][hidden] */
  const void *effective_bias;     /* int32: [2][4][hidden] */
  const uint16_t *sigmoid_table;
} tq_mve_lstm_params_t;

void tq_mve_lstm_s8(const tq_mve_lstm_params_t *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                    int8_t *output);

#endif /* TQ_MVE_LSTM_H */
