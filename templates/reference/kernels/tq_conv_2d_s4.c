#include "tq_conv_2d_s4.h"
#include "tq_int4.h"
#include "tq_window.h"

/* TFLM unpacks the whole int4 filter into an arena buffer, then runs
 * reference_integer_ops::ConvPerChannel; this reads each weight from its nibble
 * instead, so flash keeps half the bytes and the arena no unpacked copy. The
 * arithmetic and the order of the sums are the int8 kernel's. Parameters are
 * copied to locals because int8 stores may alias *p. */
void tq_conv_2d_s4(const tq_conv_2d_params_t *p, const int8_t *input, const int8_t *packed_filter,
                   const int32_t *bias, int8_t *output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d, out_d = p->out_d;
  const int32_t fh = p->filter_h, fw = p->filter_w, fd = p->filter_d;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
  const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  const int32_t filters_per_group = out_d / (in_d / fd);
  const int32_t filter_size = fh * fw * fd;
  const int32_t in_row = in_w * in_d;
  const int contiguous_rows = fd == in_d && dil_w == 1;  /* no groups, no horizontal dilation */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_row;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = tq_window_begin(iy0, dil_h);
      const int32_t fy1 = tq_window_end(iy0, dil_h, in_h, fh);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = tq_window_begin(ix0, dil_w);
        const int32_t fx1 = tq_window_end(ix0, dil_w, in_w, fw);
        for (int32_t oc = 0; oc < out_d; ++oc) {
          const int8_t *in_g = in_b + (oc / filters_per_group) * fd;
          int32_t acc = 0;
          for (int32_t fy = fy0; fy < fy1; ++fy) {
            const int8_t *x_row = in_g + (iy0 + fy * dil_h) * in_row;
            const int32_t w_row = oc * filter_size + fy * fw * fd;
            if (contiguous_rows) {  /* the row's taps are one run of weights over one run of input */
              acc = tq_wrap_add(acc, tq_s4_dot(packed_filter, w_row + fx0 * fd, x_row + ix0 * in_d + fx0 * fd,
                                               (fx1 - fx0) * fd, input_offset));
              continue;
            }
            for (int32_t fx = fx0; fx < fx1; ++fx) {
              const int8_t *x = x_row + (ix0 + fx * dil_w) * in_d;
              acc = tq_wrap_add(acc, tq_s4_dot(packed_filter, w_row + fx * fd, x, fd, input_offset));
            }
          }
          if (bias) acc = tq_wrap_add(acc, bias[oc]);
          acc = tq_wrap_add(tq_mbqm(acc, p->multiplier[oc], p->shift[oc]), output_offset);
          *output++ = (int8_t)TQ_CLAMP(acc, act_min, act_max);
        }
      }
    }
  }
}
