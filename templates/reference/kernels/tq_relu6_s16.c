#include "tq_relu6_s16.h"

/* TFLM's Relu6Quantized<int16_t>: a clamp in the input's quantization, no requantization. */
void tq_relu6_s16(const tq_relu6_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = input[i];
    output[i] = (int16_t)(v > p->upper ? p->upper : v < p->lower ? p->lower : v);
  }
}
