#include "tq_remap.h"

/* GATHER, GATHER_ND and EMBEDDING_LOOKUP with constant indices, BATCH_TO_SPACE_ND,
 * SPACE_TO_BATCH_ND, DEPTH_TO_SPACE, SPACE_TO_DEPTH and RESIZE_NEAREST_NEIGHBOR: TFLM's
 * loops copy runs of bytes from positions that depend only on shapes, options and constant
 * operands, so tinyq computes those positions offline and this loop only copies. */
void tq_remap(const tq_remap_params_t *p, const int32_t *row_offsets, const int32_t *col_offsets,
              const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const size_t chunk = (size_t)p->chunk;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int32_t *cols = col_offsets + b * p->col_batch_stride;
    for (int32_t y = 0; y < p->rows; ++y) {
      const int32_t row = *row_offsets++;
      for (int32_t x = 0; x < p->cols; ++x) {
        if (row < 0 || cols[x] < 0) {
          memset(out, p->pad_byte, chunk);
        } else if (out != in + row + cols[x]) { /* the planner may have made a one-run output a view */
          memcpy(out, in + row + cols[x], chunk);
        }
        out += chunk;
      }
    }
  }
}
