#ifndef TQ_RESIZE_BILINEAR_F32_H
#define TQ_RESIZE_BILINEAR_F32_H
#include "tq_f32.h"

/* float32 bilinear resize, NHWC; the scales are TFLM's float32 ones (align_corners folded in). */
typedef struct {
  int32_t batches, in_h, in_w, depth, out_h, out_w;
  float height_scale, width_scale;
  int32_t half_pixel_centers;
} tq_resize_bilinear_f32_params_t;

void tq_resize_bilinear_f32(const tq_resize_bilinear_f32_params_t *p, const float *input, float *output);
#endif
