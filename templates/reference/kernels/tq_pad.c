#include "tq_pad.h"

/* reference_ops::Pad writes the output in order, one element at a time, taking
 * the next input element wherever the position is inside the data. Rows of the
 * innermost dimension are whole runs of padding or pad/data/pad, so they are
 * filled and copied as blocks. */
static int tq_pad_inside(int32_t i, int32_t before, int32_t size) {
  return i >= before && i < before + size;
}

void tq_pad_s8(const tq_pad_params_t *p, const int8_t *input, int8_t pad_value, int8_t *output) {
  const int32_t *in = p->in_dims, *out = p->out_dims, *lo = p->before;
  const int32_t row = out[4], data = in[4], left = lo[4], right = row - data - left;
  const int fill = (uint8_t)pad_value;
  for (int32_t i0 = 0; i0 < out[0]; ++i0) {
    const int inside0 = tq_pad_inside(i0, lo[0], in[0]);
    for (int32_t i1 = 0; i1 < out[1]; ++i1) {
      const int inside1 = inside0 && tq_pad_inside(i1, lo[1], in[1]);
      for (int32_t i2 = 0; i2 < out[2]; ++i2) {
        const int inside2 = inside1 && tq_pad_inside(i2, lo[2], in[2]);
        for (int32_t i3 = 0; i3 < out[3]; ++i3) {
          if (inside2 && tq_pad_inside(i3, lo[3], in[3])) {
            memset(output, fill, (size_t)left);
            memcpy(output + left, input, (size_t)data);
            memset(output + left + data, fill, (size_t)right);
            input += data;
          } else {
            memset(output, fill, (size_t)row);
          }
          output += row;
        }
      }
    }
  }
}
