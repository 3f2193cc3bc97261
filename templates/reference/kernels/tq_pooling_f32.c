#include "tq_pooling_f32.h"
#include "tq_window.h"

/* reference_ops::AveragePool and MaxPool (float): the window clipped to the input, visited row
 * by row, then the clamp. */

/* The sum from 0.0f divided by the tap count, counted in a float as TFLM counts. */
void tq_average_pool_2d_f32(const tq_pool_f32_params_t *p, const float *input, float *output) {
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
          float total = 0.0f, count = 0.0f;
          for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
            const float *row = image + ((y0 + fy) * in_w + x0) * depth + c;
            for (int32_t fx = fx_begin; fx < fx_end; ++fx) {
              total += row[fx * depth];
              count += 1.0f;
            }
          }
          *output++ = tq_clamp_f32(total / count, p->act_min, p->act_max);
        }
      }
    }
  }
}

/* std::max(max, x) from -FLT_MAX: a NaN tap never replaces the maximum. */
void tq_max_pool_2d_f32(const tq_pool_f32_params_t *p, const float *input, float *output) {
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
          float max = -0x1.fffffep+127f;
          for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
            const float *row = image + ((y0 + fy) * in_w + x0) * depth + c;
            for (int32_t fx = fx_begin; fx < fx_end; ++fx) max = tq_max_f32(max, row[fx * depth]);
          }
          *output++ = tq_clamp_f32(max, p->act_min, p->act_max);
        }
      }
    }
  }
}
