#ifndef TQ_CONV_2D_S4_H
#define TQ_CONV_2D_S4_H
#include "tq_common.h"

/* CONV_2D with int4 weights: NHWC input/output, OHWI filter packed two per
 * byte (tq_int4.h). Grouped when filter_d < in_d, as the int8 kernel. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_d;
  int32_t out_h, out_w, out_d;
  int32_t filter_h, filter_w, filter_d;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t input_offset, output_offset;
  int32_t act_min, act_max;
  const int32_t *multiplier; /* one per output channel */
  const int8_t *shift;
} tq_conv_2d_s4_params_t;

void tq_conv_2d_s4(const tq_conv_2d_s4_params_t *p, const int8_t *input, const int8_t *packed_filter,
                   const int32_t *bias, int8_t *output);
#endif
