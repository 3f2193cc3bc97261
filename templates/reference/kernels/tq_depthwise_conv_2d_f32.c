#include "tq_depthwise_conv_2d_f32.h"
#include "tq_window.h"

/* reference_ops::DepthwiseConv (float): per output value, a sum from 0.0f over filter rows and
 * columns, taps outside the input skipped, then + bias (0.0f without one) and the clamp. */
void tq_depthwise_conv_2d_f32(const tq_depthwise_conv_2d_f32_params_t *p, const float *input, const float *filter,
                              const float *bias, float *output) {
  const int32_t in_w = p->in_w, in_d = p->in_d, mult = p->depth_multiplier, out_d = in_d * mult;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w, filter_w = p->filter_w;
  const float lo = p->act_min, hi = p->act_max;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *image = input + b * p->in_h * in_w * in_d;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t fy_begin = tq_window_begin(y0, dil_h), fy_end = tq_window_end(y0, dil_h, p->in_h, p->filter_h);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t fx_begin = tq_window_begin(x0, dil_w), fx_end = tq_window_end(x0, dil_w, in_w, filter_w);
        for (int32_t ic = 0; ic < in_d; ++ic) {
          for (int32_t m = 0; m < mult; ++m) {
            const int32_t oc = ic * mult + m;
            float total = 0.0f;
            for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
              const float *x_row = image + (y0 + fy * dil_h) * in_w * in_d + ic;
              const float *w_row = filter + fy * filter_w * out_d + oc;
              for (int32_t fx = fx_begin; fx < fx_end; ++fx) total += x_row[(x0 + fx * dil_w) * in_d] * w_row[fx * out_d];
            }
            const float bias_value = bias != NULL ? bias[oc] : 0.0f;
            *output++ = tq_clamp_f32(total + bias_value, lo, hi);
          }
        }
      }
    }
  }
}
