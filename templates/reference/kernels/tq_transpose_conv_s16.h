#ifndef TQ_TRANSPOSE_CONV_S16_H
#define TQ_TRANSPOSE_CONV_S16_H
#include "tq_common_s16.h"

/* 16x8 transposed convolution: int16 input/output, int8 filter, int64 bias (an int16 one
 * widened offline, as TFLM widens it at run time); no zero-point offsets. */
typedef struct {
  int32_t batches, in_h, in_w, in_d, out_h, out_w, out_d;
  int32_t filter_h, filter_w, stride_h, stride_w;
  int32_t pad_h, pad_w;            /* input (y, x) reaches output (y * stride - pad + filter tap) */
  int32_t act_min, act_max;
  const int8_t *filter;            /* [out_d][filter_h][filter_w][in_d] */
  const int64_t *bias;             /* NULL: none */
  const int32_t *multiplier;       /* per output channel */
  const int8_t *shift;
} tq_transpose_conv_s16_params_t;

void tq_transpose_conv_s16(const tq_transpose_conv_s16_params_t *p, const int16_t *input, int16_t *output);
#endif
