#include "tq_concatenation.h"

/* reference_ops::Concatenation: a pure copy, so one byte-level kernel serves every
 * element type (int8 inputs share the output's quantization, as TFLM requires). */
void tq_concatenation(const tq_concatenation_params_t *p, const void *const *inputs, void *output) {
  uint8_t *out = (uint8_t *)output;
  for (int32_t k = 0; k < p->outer; ++k) {
    for (int32_t i = 0; i < p->count; ++i) {
      const int32_t n = p->copy_bytes[i];
      memcpy(out, (const uint8_t *)inputs[i] + (int64_t)k * n, (size_t)n);
      out += n;
    }
  }
}
