#include "tq_depthwise_conv_2d_s16.h"
#include "tq_window.h"

/* reference_integer_ops::DepthwiseConvPerChannel for int16 input: per output channel, the sum
 * of filter * input over the window's taps inside the image, plus the bias, requantized by
 * TFLM's 64-bit MultiplyByQuantizedMultiplier, clamped. The sums are exact: a window of
 * fewer than 512 taps (products below 2^22) fits an int32, larger ones sum in int64 (`wide`).
 * Eight output channels a pass walk the window together (their weights are adjacent); a
 * block's outputs are written after its window channels are read, pixel by pixel (the
 * in-place rule CHANNEL_WINDOW holds a fortiori). */
static inline void tq_depthwise_s16_run(const tq_depthwise_conv_2d_s16_params_t *p, const int16_t *input,
                                        const int8_t *filter, const int64_t *bias, int16_t *output, const int wide) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d, dm = p->depth_multiplier;
  const int32_t out_d = in_d * dm, fw = p->filter_w;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
  const int32_t in_row = in_w * in_d;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in_b = input + b * in_h * in_row;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = tq_window_begin(iy0, dil_h), fy1 = tq_window_end(iy0, dil_h, in_h, p->filter_h);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = tq_window_begin(ix0, dil_w), fx1 = tq_window_end(ix0, dil_w, in_w, fw);
        for (int32_t oc0 = 0; oc0 < out_d; oc0 += 8) {
          const int32_t n = out_d - oc0 < 8 ? out_d - oc0 : 8;
          int32_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
          int64_t s64[8] = {0, 0, 0, 0, 0, 0, 0, 0};
          for (int32_t fy = fy0; fy < fy1; ++fy) {
            const int16_t *x_row = in_b + (iy0 + fy * dil_h) * in_row + ix0 * in_d;
            for (int32_t fx = fx0; fx < fx1; ++fx) {
              const int16_t *x = x_row + fx * dil_w * in_d;
              const int8_t *w = filter + (fy * fw + fx) * out_d + oc0;
              if (wide) {
                for (int32_t k = 0; k < n; ++k) s64[k] += (int32_t)x[(oc0 + k) / dm] * w[k];
              } else if (dm == 1) { /* no division: ARMv6-M has no divide instruction */
                for (int32_t k = 0; k < n; ++k) s[k] += (int32_t)x[oc0 + k] * w[k];
              } else {
                for (int32_t k = 0; k < n; ++k) s[k] += (int32_t)x[(oc0 + k) / dm] * w[k];
              }
            }
          }
          for (int32_t k = 0; k < n; ++k) {
            const int32_t oc = oc0 + k;
            const int64_t acc = wide ? s64[k] : s[k];
            const int64_t total = (int64_t)((uint64_t)acc + (uint64_t)(bias ? bias[oc] : 0));
            const int32_t v = tq_mbqm64(total, p->multiplier[oc], p->shift[oc]);
            output[oc] = (int16_t)TQ_CLAMP(v, p->act_min, p->act_max);
          }
        }
        output += out_d;
      }
    }
  }
}

void tq_depthwise_conv_2d_s16(const tq_depthwise_conv_2d_s16_params_t *p, const int16_t *input,
                              const int8_t *filter, const int64_t *bias, int16_t *output) {
  if (p->filter_h * p->filter_w < 512) {
    tq_depthwise_s16_run(p, input, filter, bias, output, 0);
  } else {
    tq_depthwise_s16_run(p, input, filter, bias, output, 1);
  }
}
