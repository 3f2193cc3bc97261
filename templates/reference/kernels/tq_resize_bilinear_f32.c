#include "tq_resize_bilinear_f32.h"
#include "tq_libm_f32.h"

/* ComputeInterpolationValues: the source coordinate in float32, its floor clamped to >= 0 and
 * its ceiling clamped to the last row (column). */
static float source(int32_t v, float scale, int32_t half_pixel, int32_t size, int32_t *lower, int32_t *upper) {
  const float scaled = half_pixel ? ((float)v + 0.5f) * scale - 0.5f : (float)v * scale;
  const int32_t floor_v = (int32_t)tq_floorf(scaled), ceil_v = (int32_t)tq_ceilf(scaled);
  *lower = floor_v > 0 ? floor_v : 0;
  *upper = ceil_v < size - 1 ? ceil_v : size - 1;
  return scaled;
}

/* reference_ops::ResizeBilinear<float>: four products, each value * y weight * x weight left to
 * right, summed left to right, plus the rounding offset (0.0f for float, which turns -0 into +0). */
void tq_resize_bilinear_f32(const tq_resize_bilinear_f32_params_t *p, const float *input, float *output) {
  const int32_t in_w = p->in_w, depth = p->depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *image = input + b * p->in_h * in_w * depth;
    for (int32_t y = 0; y < p->out_h; ++y) {
      int32_t y0, y1;
      const float input_y = source(y, p->height_scale, p->half_pixel_centers, p->in_h, &y0, &y1);
      const float dy = input_y - (float)y0, ry = 1.0f - dy;
      for (int32_t x = 0; x < p->out_w; ++x) {
        int32_t x0, x1;
        const float input_x = source(x, p->width_scale, p->half_pixel_centers, in_w, &x0, &x1);
        const float dx = input_x - (float)x0, rx = 1.0f - dx;
        const float *p00 = image + (y0 * in_w + x0) * depth, *p10 = image + (y1 * in_w + x0) * depth;
        const float *p01 = image + (y0 * in_w + x1) * depth, *p11 = image + (y1 * in_w + x1) * depth;
        for (int32_t c = 0; c < depth; ++c) {
          *output++ = p00[c] * ry * rx + p10[c] * dy * rx + p01[c] * ry * dx + p11[c] * dy * dx + 0.0f;
        }
      }
    }
  }
}
