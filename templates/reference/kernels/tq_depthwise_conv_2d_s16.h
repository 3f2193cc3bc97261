#ifndef TQ_DEPTHWISE_CONV_2D_S16_H
#define TQ_DEPTHWISE_CONV_2D_S16_H
#include "tq_common_s16.h"

/* 16x8 depthwise convolution: NHWC int16 input/output, 1HWO int8 filter, int64 bias (TFLM's
 * only int16 depthwise form); output channel ic * depth_multiplier + m reads input channel ic.
 * No zero-point offsets: TFLM ignores them here. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_d;
  int32_t out_h, out_w, depth_multiplier;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t act_min, act_max;
  const int32_t *multiplier; /* one per output channel */
  const int8_t *shift;
} tq_depthwise_conv_2d_s16_params_t;

void tq_depthwise_conv_2d_s16(const tq_depthwise_conv_2d_s16_params_t *p, const int16_t *input,
                              const int8_t *filter, const int64_t *bias, int16_t *output);
#endif
