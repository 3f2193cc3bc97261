#ifndef TQ_QUANTIZE_H
#define TQ_QUANTIZE_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  float scale;
  int32_t zero_point;
} tq_quantize_params_t;

/* Must be built without -ffast-math: the division has to stay a division. */
void tq_quantize_f32_s8(const tq_quantize_params_t *p, const float *input, int8_t *output);
void tq_quantize_f32_s16(const tq_quantize_params_t *p, const float *input, int16_t *output);
#endif
