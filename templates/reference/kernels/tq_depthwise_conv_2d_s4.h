#ifndef TQ_DEPTHWISE_CONV_2D_S4_H
#define TQ_DEPTHWISE_CONV_2D_S4_H
#include "tq_depthwise_conv_2d.h"

/* DEPTHWISE_CONV_2D with int4 weights: NHWC input/output, 1HWO filter packed
 * two per byte (tq_int4.h); output channel ic * depth_multiplier + m reads
 * input channel ic.
 * Same parameters as the int8 kernel; acc_init is not read. */
void tq_depthwise_conv_2d_s4(const tq_depthwise_conv_2d_params_t *p, const int8_t *input,
                             const int8_t *packed_filter, const int32_t *bias, int8_t *output);
#endif
