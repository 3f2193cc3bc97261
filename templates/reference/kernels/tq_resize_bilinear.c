#include "tq_resize_bilinear.h"

/* ResizeBilinearInteger's arithmetic: four int8 pixels weighted in 1/1024 units per axis
 * (the 2^20 sum), then TFLM's double rounding: add 2^19 with the sign of the sum and divide
 * by 2^20, truncating toward zero. The weight of a lower tap is 1024 minus the upper's; with
 * half_pixel_centers the upper weight can be negative, but then both taps are the same pixel,
 * so |sum| <= 128 * 2048 * 2048 < 2^31 and int32 holds every product and sum exactly. */
void tq_resize_bilinear_s8(const tq_resize_bilinear_params_t *p, const int32_t *y_taps, const int32_t *x_taps,
                           const int8_t *input, int8_t *output) {
  const int32_t depth = p->depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + (int64_t)b * p->in_batch_bytes;
    for (int32_t y = 0; y < p->out_h; ++y) {
      const int32_t *ty = y_taps + 3 * y;
      const int8_t *row0 = image + ty[0], *row1 = image + ty[1];
      const int32_t wy1 = ty[2], wy0 = 1024 - wy1;
      for (int32_t x = 0; x < p->out_w; ++x) {
        const int32_t *tx = x_taps + 3 * x;
        const int32_t wx1 = tx[2], wx0 = 1024 - wx1;
        const int8_t *p00 = row0 + tx[0], *p10 = row1 + tx[0], *p01 = row0 + tx[1], *p11 = row1 + tx[1];
        for (int32_t c = 0; c < depth; ++c) {
          const int32_t sum = p00[c] * wy0 * wx0 + p10[c] * wy1 * wx0 + p01[c] * wy0 * wx1 + p11[c] * wy1 * wx1;
          const int32_t round = sum > 0 ? (1 << 19) : -(1 << 19);
          *output++ = (int8_t)((sum + round) / (1 << 20));
        }
      }
    }
  }
}
