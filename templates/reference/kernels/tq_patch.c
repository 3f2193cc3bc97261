#include "tq_patch.h"

void tq_band_keep(tq_band_t *band, int32_t row0) {
  const int32_t rb = band->row_bytes;
  if (row0 > band->first) {
    if (band->end > row0) {
      memmove(band->rows, band->rows + (row0 - band->first) * rb, (size_t)((band->end - row0) * rb));
    } else {
      band->end = row0; /* rows before row0 that were never fetched: no tile reads them */
    }
    band->first = row0;
  }
}

int tq_band_advance(tq_band_t *band, int32_t row0, int32_t row1) {
  const int32_t rb = band->row_bytes;
  tq_band_keep(band, row0);
  if (row1 > band->end) {
    const int rc = band->fetch(band->ctx, band->end, row1 - band->end, band->rows + (band->end - band->first) * rb);
    if (rc != 0) return rc;
    band->end = row1;
  }
  return 0;
}

void tq_patch_copy(const uint8_t *src, int32_t src_stride, uint8_t *dst, int32_t dst_stride, int32_t rows,
                   int32_t bytes) {
  for (int32_t r = 0; r < rows; ++r) {
    memcpy(dst + r * dst_stride, src + r * src_stride, (size_t)bytes);
  }
}

int tq_rows_from_memory(void *ctx, int32_t row0, int32_t nrows, void *dst) {
  const tq_rows_memory_t *m = (const tq_rows_memory_t *)ctx;
  memcpy(dst, m->data + row0 * m->row_bytes, (size_t)(nrows * m->row_bytes));
  return 0;
}
