#include "tq_pooling_f32.h"
#include "tq_libm_f32.h"
#include "tq_window.h"

/* reference_ops::L2Pool: sqrt(sum of squares from 0.0f / tap count), the count an int
 * converted to float for the division. */
void tq_l2_pool_2d_f32(const tq_pool_f32_params_t *p, const float *input, float *output) {
  const int32_t in_w = p->in_w, depth = p->depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *image = input + b * p->in_h * in_w * depth;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t fy_begin = tq_window_begin(y0, 1), fy_end = tq_window_end(y0, 1, p->in_h, p->filter_h);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t fx_begin = tq_window_begin(x0, 1), fx_end = tq_window_end(x0, 1, in_w, p->filter_w);
        for (int32_t c = 0; c < depth; ++c) {
          float sum_squares = 0.0f;
          int32_t count = 0;
          for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
            const float *row = image + ((y0 + fy) * in_w + x0) * depth + c;
            for (int32_t fx = fx_begin; fx < fx_end; ++fx) {
              const float value = row[fx * depth];
              sum_squares += value * value;
              ++count;
            }
          }
          *output++ = tq_clamp_f32(tq_sqrtf(sum_squares / (float)count), p->act_min, p->act_max);
        }
      }
    }
  }
}
