#include "tq_conv_2d_s16.h"
#include "tq_window.h"

/* reference_integer_ops::ConvPerChannel for int16 input: sum filter * input over the
 * window's taps inside the image (no input offset), add the bias, requantize per channel,
 * clamp (no output offset: TFLM ignores int16 zero points here). `wide` picks TFLM's
 * accumulator: int64 (requantized by tq_mbqm64) or int32 (wrapping, then tq_mbqm).
 * Each output pixel's channels are written before the next pixel's window is read (the
 * in-place rule WINDOW). The clipped window visits exactly TFLM's taps; the sums do not
 * depend on their order. Inlined with a constant `wide`, each entry point keeps one loop. */
static inline void tq_conv_2d_s16_run(const tq_conv_2d_s16_params_t *p, const int16_t *input,
                                      const int8_t *filter, const int64_t *bias64, const int32_t *bias32,
                                      int16_t *output, const int wide) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d;
  const int32_t out_h = p->out_h, out_w = p->out_w, out_d = p->out_d;
  const int32_t fh = p->filter_h, fw = p->filter_w, fd = p->filter_d;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
  const int32_t groups = in_d / fd, per_group = out_d / groups;
  const int32_t filter_size = fh * fw * fd, in_row = in_w * in_d;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in_b = input + b * in_h * in_row;
    for (int32_t oy = 0; oy < out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = tq_window_begin(iy0, dil_h), fy1 = tq_window_end(iy0, dil_h, in_h, fh);
      for (int32_t ox = 0; ox < out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = tq_window_begin(ix0, dil_w), fx1 = tq_window_end(ix0, dil_w, in_w, fw);
        for (int32_t oc = 0; oc < out_d; ++oc) {
          const int16_t *x_g = in_b + (oc / per_group) * fd;
          const int8_t *w_oc = filter + oc * filter_size;
          int64_t acc = 0;
          uint32_t acc32 = 0;
          for (int32_t fy = fy0; fy < fy1; ++fy) {
            const int16_t *x_r = x_g + (iy0 + fy * dil_h) * in_row + ix0 * in_d;
            const int8_t *w_r = w_oc + fy * fw * fd;
            for (int32_t fx = fx0; fx < fx1; ++fx) {
              if (wide) {
                acc += tq_dot_s16(x_r + fx * dil_w * in_d, w_r + fx * fd, fd);
              } else {
                acc32 += tq_dot_s16_wrap(x_r + fx * dil_w * in_d, w_r + fx * fd, fd);
              }
            }
          }
          const int32_t v = wide
              ? tq_mbqm64((int64_t)((uint64_t)acc + (uint64_t)(bias64 ? bias64[oc] : 0)), p->multiplier[oc], p->shift[oc])
              : tq_mbqm((int32_t)(acc32 + (uint32_t)(bias32 ? bias32[oc] : 0)), p->multiplier[oc], p->shift[oc]);
          output[oc] = (int16_t)TQ_CLAMP(v, p->act_min, p->act_max);
        }
        output += out_d;
      }
    }
  }
}

void tq_conv_2d_s16(const tq_conv_2d_s16_params_t *p, const int16_t *input, const int8_t *filter,
                    const int64_t *bias, int16_t *output) {
  tq_conv_2d_s16_run(p, input, filter, bias, NULL, output, 1);
}

void tq_conv_2d_s16_acc32(const tq_conv_2d_s16_params_t *p, const int16_t *input, const int8_t *filter,
                          const int32_t *bias, int16_t *output) {
  tq_conv_2d_s16_run(p, input, filter, NULL, bias, output, 0);
}
