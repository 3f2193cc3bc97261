#include "tq_transpose_conv_f32.h"

/* reference_ops::TransposeConv (float), gathered. TFLM zeroes the output, then scatters every
 * input value (batch, in_y, in_x, in_channel order) through the filter taps into it; each
 * output therefore receives its products from 0.0f in increasing (in_y, in_x, in_channel)
 * order. Here each output sums those products in that order itself: for output row oy the
 * input rows are iy = (oy + pad - fy) / stride, increasing as the tap fy decreases. Then the
 * bias (when there is one) and the clamp. */
void tq_transpose_conv_f32(const tq_transpose_conv_f32_params_t *p, const float *input, const float *filter,
                           const float *bias, float *output) {
  const int32_t sh = p->stride_h, sw = p->stride_w, in_d = p->in_d;
  const int32_t tap_stride = p->filter_w * in_d;
  const int32_t channel_stride = p->filter_h * tap_stride;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *image = input + b * p->in_h * p->in_w * in_d;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t ry = oy + p->pad_h; /* >= 0: padding is never negative */
      /* taps fy = ry mod stride + k * stride below filter_h, walked from the largest down */
      const int32_t fy_low = ry % sh;
      const int32_t fy_top = fy_low < p->filter_h ? fy_low + (p->filter_h - 1 - fy_low) / sh * sh : -1;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t rx = ox + p->pad_w;
        const int32_t fx_low = rx % sw;
        const int32_t fx_top = fx_low < p->filter_w ? fx_low + (p->filter_w - 1 - fx_low) / sw * sw : -1;
        for (int32_t oc = 0; oc < p->out_d; ++oc) {
          const float *w_out = filter + oc * channel_stride;
          float acc = 0.0f;
          for (int32_t fy = fy_top; fy >= 0; fy -= sh) {
            const int32_t iy = (ry - fy) / sh; /* exact: ry - fy is a multiple of the stride */
            if (ry < fy) continue;
            if (iy >= p->in_h) break;
            for (int32_t fx = fx_top; fx >= 0; fx -= sw) {
              const int32_t ix = (rx - fx) / sw;
              if (rx < fx) continue;
              if (ix >= p->in_w) break;
              const float *x = image + (iy * p->in_w + ix) * in_d;
              const float *w = w_out + fy * tap_stride + fx * in_d;
              for (int32_t c = 0; c < in_d; ++c) acc += x[c] * w[c];
            }
          }
          if (bias != NULL) acc += bias[oc];
          *output++ = tq_clamp_f32(acc, p->act_min, p->act_max);
        }
      }
    }
  }
}
