#include "tq_pad_f32.h"

/* reference_ops::Pad on floats: the output in order, the next input element inside the data,
 * the pad value (0.0f, or PADV2's) elsewhere; whole rows as runs. */
static int tq_pad_f32_inside(int32_t i, int32_t before, int32_t size) { return i >= before && i < before + size; }

static float *tq_pad_f32_fill(float *output, float value, int32_t count) {
  for (int32_t i = 0; i < count; ++i) *output++ = value;
  return output;
}

void tq_pad_f32(const tq_pad_params_t *p, const float *input, float pad_value, float *output) {
  const int32_t *in = p->in_dims, *out = p->out_dims, *lo = p->before;
  const int32_t row = out[4], data = in[4], left = lo[4], right = row - data - left;
  for (int32_t i0 = 0; i0 < out[0]; ++i0) {
    const int inside0 = tq_pad_f32_inside(i0, lo[0], in[0]);
    for (int32_t i1 = 0; i1 < out[1]; ++i1) {
      const int inside1 = inside0 && tq_pad_f32_inside(i1, lo[1], in[1]);
      for (int32_t i2 = 0; i2 < out[2]; ++i2) {
        const int inside2 = inside1 && tq_pad_f32_inside(i2, lo[2], in[2]);
        for (int32_t i3 = 0; i3 < out[3]; ++i3) {
          if (inside2 && tq_pad_f32_inside(i3, lo[3], in[3])) {
            output = tq_pad_f32_fill(output, pad_value, left);
            memcpy(output, input, (size_t)data * sizeof(float));
            output = tq_pad_f32_fill(output + data, pad_value, right);
            input += data;
          } else {
            output = tq_pad_f32_fill(output, pad_value, row);
          }
        }
      }
    }
  }
}
