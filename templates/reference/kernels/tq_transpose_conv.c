#include "tq_transpose_conv.h"

/* reference_integer_ops::TransposeConv, gathered: TFLM scatters every input pixel through
 * the filter into an int32 image; here each output sums the input pixels and taps that land
 * on it (out = in * stride - pad + tap), the same products in another order (int32 sums
 * wrap alike), so no int32 image is needed. Taps of one output row are those with
 * tap = (out + pad) mod stride, stepping by stride. */
void tq_transpose_conv_s8(const tq_transpose_conv_params_t *p, const int8_t *input, int8_t *output) {
  const int32_t tap_stride = p->filter_w * p->in_d;
  const int32_t channel_stride = p->filter_h * tap_stride;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + b * p->in_h * p->in_w * p->in_d;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t ry = oy + p->pad_h; /* >= 0: padding is never negative */
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t rx = ox + p->pad_w;
        for (int32_t oc = 0; oc < p->out_d; ++oc) {
          const int8_t *filter = p->filter + oc * channel_stride;
          uint32_t acc = 0;
          for (int32_t fy = ry % p->stride_h; fy < p->filter_h; fy += p->stride_h) {
            const int32_t iy = (ry - fy) / p->stride_h;
            if (iy < 0) break;
            if (iy >= p->in_h) continue;
            for (int32_t fx = rx % p->stride_w; fx < p->filter_w; fx += p->stride_w) {
              const int32_t ix = (rx - fx) / p->stride_w;
              if (ix < 0) break;
              if (ix >= p->in_w) continue;
              const int8_t *x = image + (iy * p->in_w + ix) * p->in_d;
              const int8_t *w = filter + fy * tap_stride + fx * p->in_d;
              for (int32_t c = 0; c < p->in_d; ++c) acc += (uint32_t)((x[c] + p->input_offset) * w[c]);
            }
          }
          int32_t total = (int32_t)acc;
          if (p->bias != NULL) total = tq_wrap_add(total, p->bias[oc]);
          const int32_t v = tq_mbqm(total, p->multiplier[oc], p->shift[oc]) + p->output_offset;
          *output++ = (int8_t)TQ_CLAMP(v, p->act_min, p->act_max);
        }
      }
    }
  }
}
