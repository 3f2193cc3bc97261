#ifndef TQ_PATCH_H
#define TQ_PATCH_H
#include "tq_common.h"

/* Patch-based execution (tinyq/plan/patches.py): the stage's input arrives a band of rows at a
 * time from a row source, and each layer runs on the region of a tile's receptive field. */

#ifndef TINYQ_INPUT_ROWS_FN_DEFINED
#define TINYQ_INPUT_ROWS_FN_DEFINED
/* Writes input rows [row0, row0 + nrows) (each row: width x channels bytes, NHWC) to dst;
 * returns 0, or non-zero to stop the invoke. */
typedef int (*tinyq_input_rows_fn)(void *ctx, int32_t row0, int32_t nrows, void *dst);
#endif

#define TQ_PATCH_ALIGN(n) (((n) + 3) & ~3) /* workspace regions start on 4-byte boundaries */

/* One layer's extent on one axis for one tile: input [in0, in1), output [out0, out1), and the
 * leading padding the kernel sees on that region. */
typedef struct {
  int32_t in0, in1, out0, out1, pad;
} tq_span_t;

/* The rows [first, end) of the input held in `rows` (first at the start). */
typedef struct {
  tinyq_input_rows_fn fetch;
  void *ctx;
  uint8_t *rows;
  int32_t row_bytes, first, end;
} tq_band_t;

/* Keeps rows [row0, row1) in the band: drops the rows above row0 (moving the rest up) and
 * fetches the missing ones, so every row is fetched once, in order (rows no tile needs are
 * skipped). Returns the source's non-zero result, else 0. */
int tq_band_advance(tq_band_t *band, int32_t row0, int32_t row1);

/* Drops the rows above row0 (moving the rest up); a band of computed rows (no source) then
 * gets its new rows written after `end`. */
void tq_band_keep(tq_band_t *band, int32_t row0);

/* Copies `rows` rows of `bytes` bytes from src (rows `src_stride` apart) to dst (`dst_stride`). */
void tq_patch_copy(const uint8_t *src, int32_t src_stride, uint8_t *dst, int32_t dst_stride, int32_t rows,
                   int32_t bytes);

/* A row source over an input already in memory (invoke_v): ctx is a tq_rows_memory_t. */
typedef struct {
  const uint8_t *data;
  int32_t row_bytes;
} tq_rows_memory_t;
int tq_rows_from_memory(void *ctx, int32_t row0, int32_t nrows, void *dst);
#endif
