#include "tq_transpose_conv_s16.h"

/* reference_integer_ops::TransposeConv<int64_t> (int16 input), gathered as tq_transpose_conv_s8:
 * TFLM scatters every input pixel through the filter into an int64 image; here each output
 * sums the same products (exact in int64, so in any order), plus the bias, requantized by TFLM's
 * 64-bit MultiplyByQuantizedMultiplier. Taps of one output row are those with
 * tap = (out + pad) mod stride, stepping by stride. */
void tq_transpose_conv_s16(const tq_transpose_conv_s16_params_t *p, const int16_t *input, int16_t *output) {
  const int32_t tap_stride = p->filter_w * p->in_d;
  const int32_t channel_stride = p->filter_h * tap_stride;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *image = input + b * p->in_h * p->in_w * p->in_d;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t ry = oy + p->pad_h; /* >= 0: padding is never negative */
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t rx = ox + p->pad_w;
        for (int32_t oc = 0; oc < p->out_d; ++oc) {
          const int8_t *filter = p->filter + oc * channel_stride;
          int64_t acc = 0;
          for (int32_t fy = ry % p->stride_h; fy < p->filter_h; fy += p->stride_h) {
            const int32_t iy = (ry - fy) / p->stride_h;
            if (iy < 0) break;
            if (iy >= p->in_h) continue;
            for (int32_t fx = rx % p->stride_w; fx < p->filter_w; fx += p->stride_w) {
              const int32_t ix = (rx - fx) / p->stride_w;
              if (ix < 0) break;
              if (ix >= p->in_w) continue;
              acc += tq_dot_s16(image + (iy * p->in_w + ix) * p->in_d, filter + fy * tap_stride + fx * p->in_d,
                                p->in_d);
            }
          }
          const int64_t total = (int64_t)((uint64_t)acc + (uint64_t)(p->bias != NULL ? p->bias[oc] : 0));
          const int32_t v = tq_mbqm64(total, p->multiplier[oc], p->shift[oc]);
          *output++ = (int16_t)TQ_CLAMP(v, p->act_min, p->act_max);
        }
      }
    }
  }
}
