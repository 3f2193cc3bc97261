#include "tq_pad_s16.h"

/* reference_ops::Pad on int16_t: the output in order, rows of the innermost dimension
 * whole runs of padding or pad/data/pad (tq_pad_s8's walk, two bytes an element). */
static void tq_fill_s16(int16_t *out, int16_t value, int32_t count) {
  for (int32_t i = 0; i < count; ++i) out[i] = value;
}

static int tq_pad_s16_inside(int32_t i, int32_t before, int32_t size) {
  return i >= before && i < before + size;
}

void tq_pad_s16(const tq_pad_params_t *p, const int16_t *input, int16_t pad_value, int16_t *output) {
  const int32_t *in = p->in_dims, *out = p->out_dims, *lo = p->before;
  const int32_t row = out[4], data = in[4], left = lo[4], right = row - data - left;
  for (int32_t i0 = 0; i0 < out[0]; ++i0) {
    const int inside0 = tq_pad_s16_inside(i0, lo[0], in[0]);
    for (int32_t i1 = 0; i1 < out[1]; ++i1) {
      const int inside1 = inside0 && tq_pad_s16_inside(i1, lo[1], in[1]);
      for (int32_t i2 = 0; i2 < out[2]; ++i2) {
        const int inside2 = inside1 && tq_pad_s16_inside(i2, lo[2], in[2]);
        for (int32_t i3 = 0; i3 < out[3]; ++i3) {
          if (inside2 && tq_pad_s16_inside(i3, lo[3], in[3])) {
            tq_fill_s16(output, pad_value, left);
            memcpy(output + left, input, (size_t)data * sizeof(int16_t));
            tq_fill_s16(output + left + data, pad_value, right);
            input += data;
          } else {
            tq_fill_s16(output, pad_value, row);
          }
          output += row;
        }
      }
    }
  }
}
