#ifndef TQ_REQUANTIZE_H
#define TQ_REQUANTIZE_H
#include "tq_common.h"

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift; /* input scale / output scale */
} tq_requantize_params_t;

/* tq_requantize_<in>_<out> for the type pairs TFLM's QUANTIZE accepts. */
#define TQ_REQUANTIZE_DECLARE(in_name, in_t, out_name, out_t) \
  void tq_requantize_##in_name##_##out_name(const tq_requantize_params_t *p, const in_t *input, out_t *output);
TQ_REQUANTIZE_DECLARE(s8, int8_t, s8, int8_t)
TQ_REQUANTIZE_DECLARE(s8, int8_t, u8, uint8_t)
TQ_REQUANTIZE_DECLARE(s8, int8_t, s16, int16_t)
TQ_REQUANTIZE_DECLARE(s8, int8_t, s32, int32_t)
TQ_REQUANTIZE_DECLARE(u8, uint8_t, s8, int8_t)
TQ_REQUANTIZE_DECLARE(s16, int16_t, s8, int8_t)
TQ_REQUANTIZE_DECLARE(s16, int16_t, s16, int16_t)
TQ_REQUANTIZE_DECLARE(s16, int16_t, s32, int32_t)
TQ_REQUANTIZE_DECLARE(s32, int32_t, s8, int8_t)
TQ_REQUANTIZE_DECLARE(s32, int32_t, s16, int16_t)
#undef TQ_REQUANTIZE_DECLARE
#endif
