#ifndef TQ_CONV_2D_F32_H
#define TQ_CONV_2D_F32_H
#include "tq_f32.h"

/* float32 convolution: NHWC input/output, OHWI filter, grouped when filter_d < in_d. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_d;
  int32_t out_h, out_w, out_d;
  int32_t filter_h, filter_w, filter_d;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  float act_min, act_max;
} tq_conv_2d_f32_params_t;

void tq_conv_2d_f32(const tq_conv_2d_f32_params_t *p, const float *input, const float *filter, const float *bias,
                    float *output);
#endif
