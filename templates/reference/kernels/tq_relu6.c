#include "tq_relu6.h"

/* TFLM's Relu6Quantized: a clamp in the input's quantization, no requantization. */
void tq_relu6_s8(const tq_relu6_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = input[i];
    output[i] = (int8_t)(v > p->upper ? p->upper : v < p->lower ? p->lower : v);
  }
}
