/* conv_2d over output rows [row0, row1) of a one-batch op: the same kernel on a window that
 * starts row0 rows lower (its padding moved by row0 strides), writing those rows only. */
#ifndef TQ_CONV_2D_2CORE_H
#define TQ_CONV_2D_2CORE_H
#include "tq_conv_2d.h"

static inline void tq_conv_2d_s8_rows(const tq_conv_2d_params_t *p, int32_t row0, int32_t row1,
                                      const int8_t *input, const int8_t *filter, const int32_t *bias,
                                      int8_t *output) {
  tq_conv_2d_params_t part = *p;
  part.out_h = row1 - row0;
  part.pad_h = p->pad_h - row0 * p->stride_h;
  tq_conv_2d_s8(&part, input, filter, bias, output + row0 * p->out_w * p->out_d);
}
#endif
