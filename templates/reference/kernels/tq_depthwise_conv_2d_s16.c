#include "tq_depthwise_conv_2d_s16.h"
#include "tq_window.h"

/* reference_integer_ops::DepthwiseConvPerChannel for int16 input: per output channel, the sum
 * of filter * input over the window's taps inside the image in an int64 accumulator, plus the
 * bias, requantized by TFLM's 64-bit MultiplyByQuantizedMultiplier, clamped. Output channel c
 * is written right after its input channel's window is read (the in-place rule CHANNEL_WINDOW). */
void tq_depthwise_conv_2d_s16(const tq_depthwise_conv_2d_s16_params_t *p, const int16_t *input,
                              const int8_t *filter, const int64_t *bias, int16_t *output) {
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
        for (int32_t ic = 0; ic < in_d; ++ic) {
          for (int32_t m = 0; m < dm; ++m) {
            const int32_t oc = ic * dm + m;
            /* each product is below 2^22: a window of up to 511 taps sums exactly in int32 */
            int64_t acc = 0;
            int32_t part = 0, taps = 0;
            for (int32_t fy = fy0; fy < fy1; ++fy) {
              const int16_t *x = in_b + (iy0 + fy * dil_h) * in_row + ix0 * in_d + ic;
              const int8_t *w = filter + fy * fw * out_d + oc;
              for (int32_t fx = fx0; fx < fx1; ++fx) {
                part += (int32_t)x[fx * dil_w * in_d] * w[fx * out_d];
                if (++taps == 256) {
                  acc += part;
                  part = 0;
                  taps = 0;
                }
              }
            }
            acc += part;
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
