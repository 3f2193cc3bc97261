#include "tq_pooling_s16.h"
#include "tq_window.h"

/* reference_integer_ops::AveragePool and MaxPool on int16_t: tq_pooling.c's loops on
 * two-byte elements. Padding never counts: the average divides by the taps inside the input, rounding halves away from zero
 * with C's truncating division, as TFLM does. Consistent shapes always leave at
 * least one tap in the window (TFLM fails the op otherwise). */
void tq_average_pool_2d_s16(const tq_pool_params_t *p, const int16_t *input, int16_t *output) {
  const int32_t in_w = p->in_w, depth = p->depth;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  const int32_t in_row = in_w * depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in_b = input + b * p->in_h * in_row;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = tq_window_begin(iy0, 1);
      const int32_t fy1 = tq_window_end(iy0, 1, p->in_h, p->filter_h);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = tq_window_begin(ix0, 1);
        const int32_t fx1 = tq_window_end(ix0, 1, in_w, p->filter_w);
        const int32_t count = (fy1 - fy0) * (fx1 - fx0);
        const int16_t *corner = in_b + (iy0 + fy0) * in_row + (ix0 + fx0) * depth;
        for (int32_t c = 0; c < depth; ++c) {
          int32_t acc = 0;
          for (int32_t fy = 0; fy < fy1 - fy0; ++fy) {
            const int16_t *x = corner + fy * in_row + c;
            for (int32_t fx = 0; fx < fx1 - fx0; ++fx) acc += x[fx * depth];
          }
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          *output++ = (int16_t)TQ_CLAMP(acc, act_min, act_max);
        }
      }
    }
  }
}

void tq_max_pool_2d_s16(const tq_pool_params_t *p, const int16_t *input, int16_t *output) {
  const int32_t in_w = p->in_w, depth = p->depth;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  const int32_t in_row = in_w * depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in_b = input + b * p->in_h * in_row;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = tq_window_begin(iy0, 1);
      const int32_t fy1 = tq_window_end(iy0, 1, p->in_h, p->filter_h);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = tq_window_begin(ix0, 1);
        const int32_t fx1 = tq_window_end(ix0, 1, in_w, p->filter_w);
        const int16_t *corner = in_b + (iy0 + fy0) * in_row + (ix0 + fx0) * depth;
        for (int32_t c = 0; c < depth; ++c) {
          int32_t max = INT16_MIN;
          for (int32_t fy = 0; fy < fy1 - fy0; ++fy) {
            const int16_t *x = corner + fy * in_row + c;
            for (int32_t fx = 0; fx < fx1 - fx0; ++fx) max = TQ_MAX(max, x[fx * depth]);
          }
          *output++ = (int16_t)TQ_CLAMP(max, act_min, act_max);
        }
      }
    }
  }
}
