#ifndef TQ_RESIZE_BILINEAR_H
#define TQ_RESIZE_BILINEAR_H
#include "tq_common.h"

typedef struct {
  int32_t batches;
  int32_t out_h;
  int32_t out_w;
  int32_t depth;
  int32_t in_batch_bytes;
} tq_resize_bilinear_params_t;

/* y_taps: per output row (offset of the lower row, of the upper row, upper weight in 1/1024);
 * x_taps: the same per output column, offsets in elements. Computed offline from TFLM's
 * ResizeBilinearInteger. */
void tq_resize_bilinear_s8(const tq_resize_bilinear_params_t *p, const int32_t *y_taps, const int32_t *x_taps,
                           const int8_t *input, int8_t *output);
#endif
