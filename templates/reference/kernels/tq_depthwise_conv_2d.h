#ifndef TQ_DEPTHWISE_CONV_2D_H
#define TQ_DEPTHWISE_CONV_2D_H
#include "tq_common.h"

/* NHWC input/output, 1HWO filter; output channel ic * depth_multiplier + m
 * reads input channel ic. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_d;
  int32_t out_h, out_w, depth_multiplier;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t input_offset, output_offset;
  int32_t act_min, act_max;
  const int32_t *multiplier; /* one per output channel */
  const int8_t *shift;
  /* bias + input_offset * (sum of the channel's weights), computed offline: the
   * accumulator's start for an output whose window lies wholly inside the input. */
  const int32_t *acc_init;
} tq_depthwise_conv_2d_params_t;

void tq_depthwise_conv_2d_s8(const tq_depthwise_conv_2d_params_t *p, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output);
#endif
