#ifndef TQ_TRANSPOSE_CONV_F32_H
#define TQ_TRANSPOSE_CONV_F32_H
#include "tq_f32.h"

/* float32 transposed convolution: NHWC input/output, OHWI filter. */
typedef struct {
  int32_t batches, in_h, in_w, in_d, out_h, out_w, out_d;
  int32_t filter_h, filter_w, stride_h, stride_w;
  int32_t pad_h, pad_w; /* output row of input row 0's first tap is -pad_h */
  float act_min, act_max;
} tq_transpose_conv_f32_params_t;

void tq_transpose_conv_f32(const tq_transpose_conv_f32_params_t *p, const float *input, const float *filter,
                           const float *bias, float *output);
#endif
