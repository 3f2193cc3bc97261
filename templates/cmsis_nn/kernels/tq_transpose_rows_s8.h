/* tinyq's own helper for the CMSIS-NN calls that want an operand transposed
 * (TFLM's glue transposes it into its arena the same way). */
#ifndef TQ_TRANSPOSE_ROWS_S8_H
#define TQ_TRANSPOSE_ROWS_S8_H
#include <stdint.h>

/* dst[b][c][r] = src[b][r][c] for `count` matrices of rows x cols. */
static inline void tq_transpose_rows_s8(const int8_t *src, int8_t *dst, int32_t count, int32_t rows, int32_t cols) {
  for (int32_t b = 0; b < count; ++b) {
    for (int32_t r = 0; r < rows; ++r) {
      for (int32_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
    }
    src += rows * cols;
    dst += rows * cols;
  }
}
#endif
