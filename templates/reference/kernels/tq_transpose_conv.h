#ifndef TQ_TRANSPOSE_CONV_H
#define TQ_TRANSPOSE_CONV_H
#include "tq_common.h"

typedef struct {
  int32_t batches, in_h, in_w, in_d, out_h, out_w, out_d;
  int32_t filter_h, filter_w, stride_h, stride_w;
  int32_t pad_h, pad_w;            /* input (y, x) reaches output (y * stride - pad + filter tap) */
  int32_t input_offset, output_offset, act_min, act_max;
  const int8_t *filter;            /* [out_d][filter_h][filter_w][in_d] */
  const int32_t *bias;             /* NULL: none */
  const int32_t *multiplier;       /* per output channel */
  const int8_t *shift;
} tq_transpose_conv_params_t;

void tq_transpose_conv_s8(const tq_transpose_conv_params_t *p, const int8_t *input, int8_t *output);
#endif
