#include "tq_dequantize.h"

/* reference_ops::Dequantize computes (float)(double(scale) * (q - zp)). That
 * product is exact in double (24-bit scale times a 17-bit integer), and a float
 * multiply of the same exact operands rounds the same exact product once, so the
 * float product below is bit-identical without any double arithmetic. */
#define TQ_DEQUANTIZE_DEFINE(in_name, in_t)                                                    \
  void tq_dequantize_##in_name##_f32(const tq_dequantize_params_t *p, const in_t *input,      \
                                     float *output) {                                        \
    for (int32_t i = 0; i < p->size; ++i) {                                                  \
      output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);                    \
    }                                                                                        \
  }
TQ_DEQUANTIZE_DEFINE(s8, int8_t)
TQ_DEQUANTIZE_DEFINE(u8, uint8_t)
TQ_DEQUANTIZE_DEFINE(s16, int16_t)
