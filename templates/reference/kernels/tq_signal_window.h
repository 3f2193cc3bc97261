#ifndef TQ_SIGNAL_WINDOW_H
#define TQ_SIGNAL_WINDOW_H
#include <stdint.h>

/* TFLM's SignalWindow: each run of `window` samples times the window, >> shift, saturated. */
void tq_signal_window(const int16_t *input, const int16_t *weights, int16_t *output, int32_t count,
                      int32_t window, int shift);

#endif
