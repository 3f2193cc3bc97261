#include "tq_signal_energy.h"

void tq_signal_energy(const int16_t *input, uint32_t *output, int32_t start, int32_t end, int32_t count) {
  for (int32_t i = 0; i < start; ++i) output[i] = 0;
  for (int32_t i = start; i < end; ++i) {
    const int32_t re = input[2 * i], im = input[2 * i + 1];
    output[i] = (uint32_t)(re * re) + (uint32_t)(im * im); /* TFLM's int32 sum, wrapped */
  }
  for (int32_t i = end; i < count; ++i) output[i] = 0;
}
