#include "tq_signal_window.h"

/* The product of two int16 fits an int32; >> of a negative int32 is arithmetic on every compiler
 * tinyq targets, as in TFLM's ApplyWindow. Element i is read before it is written. */
void tq_signal_window(const int16_t *input, const int16_t *weights, int16_t *output, int32_t count,
                      int32_t window, int shift) {
  for (int32_t start = 0; start < count; start += window) {
    for (int32_t i = 0; i < window; ++i) {
      const int32_t raw = ((int32_t)input[start + i] * weights[i]) >> shift;
      output[start + i] = (int16_t)(raw < INT16_MIN ? INT16_MIN : raw > INT16_MAX ? INT16_MAX : raw);
    }
  }
}
