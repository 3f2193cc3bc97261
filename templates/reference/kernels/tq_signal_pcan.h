#ifndef TQ_SIGNAL_PCAN_H
#define TQ_SIGNAL_PCAN_H
#include <stdint.h>

/* TFLM's SignalPCAN (signal/src/pcan_argc_fixed.cc); the output may be either input. */
void tq_signal_pcan(const uint32_t *input, const uint32_t *noise, const int16_t *gain_lut, uint32_t *output,
                    int32_t count, int32_t snr_shift);

#endif
