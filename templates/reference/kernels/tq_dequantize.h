#ifndef TQ_DEQUANTIZE_H
#define TQ_DEQUANTIZE_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  float scale;
  int32_t zero_point;
} tq_dequantize_params_t;

void tq_dequantize_s8_f32(const tq_dequantize_params_t *p, const int8_t *input, float *output);
void tq_dequantize_u8_f32(const tq_dequantize_params_t *p, const uint8_t *input, float *output);
void tq_dequantize_s16_f32(const tq_dequantize_params_t *p, const int16_t *input, float *output);
#endif
