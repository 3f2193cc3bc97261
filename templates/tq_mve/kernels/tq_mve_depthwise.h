/* tinyq's own Helium depthwise convolution (depth multiplier 1, not part of
 * CMSIS-NN): 16 channels per vector, products widened to four int32
 * accumulators. Prepared offline (tinyq/backends/cmsis_nn_mve.py,
 * pack_depthwise): per group of 16 channels one int32-aligned record holding
 * each tap's 16 weights, then bias + input_offset * (sum of the channel's
 * taps), multiplier, left shift and negative right shift, each as 16 values in
 * the accumulators' channel order 0,4,8,12, 2,6,10,14, 1,5,9,13, 3,7,11,15. A tap outside the input counts as the input's
 * zero point, which cancels its share of the folded offset, so the result is
 * TFLM's (which skips such taps) bit for bit. Without Helium the same records
 * run through a plain C loop. */
#ifndef TQ_MVE_DEPTHWISE_H
#define TQ_MVE_DEPTHWISE_H

#include <stdint.h>

#define TQ_MVE_DW_MAX_TAPS 64 /* filter_h * filter_w; larger windows stay with CMSIS-NN */

typedef struct {
  int32_t batches, in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  int32_t paired_taps;      /* no weight is -128: two taps' int16 products may be added before widening */
  int32_t right_shift_only; /* every channel's requantization shifts right: a shorter rounding step */
} tq_mve_dw_params;

void tq_mve_depthwise_s8(const tq_mve_dw_params *p, const int8_t *input, const int32_t *packed, int8_t *output);

#endif /* TQ_MVE_DEPTHWISE_H */
