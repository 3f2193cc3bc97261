#ifndef TQ_SIGNAL_ENERGY_H
#define TQ_SIGNAL_ENERGY_H
#include <stdint.h>

/* TFLM's SignalEnergy over bins [start, end) of (real, imag) int16 pairs; 0 in the other outputs. */
void tq_signal_energy(const int16_t *input, uint32_t *output, int32_t start, int32_t end, int32_t count);

#endif
