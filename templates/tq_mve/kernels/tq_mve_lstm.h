/* tinyq's own Helium int8 LSTM (not part of CMSIS-NN): TFLM's integer LSTM (lstm_eval.h) exactly as
 * the reference kernel templates/reference/kernels/tq_lstm.c computes it, with each unit's eight
 * fully connected sums (four gates, input and hidden state) taken 16 lanes at a time: one load of
 * the input (hidden state) chunk, four weight loads, four dot products. int32 sums wrap, so their
 * order does not matter. Without Helium a plain C loop does the same. The parameter block, the gate
 * activations and the saturation are the reference kernel's (tq_lstm.h). */
#ifndef TQ_MVE_LSTM_H
#define TQ_MVE_LSTM_H

#include "tq_lstm.h"

void tq_mve_lstm_s8(const tq_lstm_params_t *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                    int8_t *output);

#endif /* TQ_MVE_LSTM_H */
