#ifndef TQ_CONV_2D_S16_H
#define TQ_CONV_2D_S16_H
#include "tq_common_s16.h"

/* 16x8 convolution: NHWC int16 input/output, OHWI int8 filter, grouped when filter_d < in_d.
 * TFLM ignores the int16 zero points here, so there are no offsets. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_d;
  int32_t out_h, out_w, out_d;
  int32_t filter_h, filter_w, filter_d;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t act_min, act_max;
  const int32_t *multiplier; /* one per output channel */
  const int8_t *shift;
} tq_conv_2d_s16_params_t;

/* int64 bias (or none): TFLM's 64-bit accumulator */
void tq_conv_2d_s16(const tq_conv_2d_s16_params_t *p, const int16_t *input, const int8_t *filter,
                    const int64_t *bias, int16_t *output);
/* int32 bias (or none with quantized_bias_type INT32): TFLM's 32-bit accumulator */
void tq_conv_2d_s16_acc32(const tq_conv_2d_s16_params_t *p, const int16_t *input, const int8_t *filter,
                          const int32_t *bias, int16_t *output);
#endif
