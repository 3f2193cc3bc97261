#include "tq_batch_matmul_s16.h"

/* reference_ops::BatchMatMul<int16_t, int64_t>: one int64 dot product per output (exact),
 * requantized by TFLM's 64-bit MultiplyByQuantizedMultiplier, offset and clamped to int16.
 * The output is written in row-major order. */
void tq_batch_matmul_s16(const tq_batch_matmul_params_t *p, const int16_t *lhs, const int16_t *rhs,
                         int16_t *output) {
  int32_t index[TQ_NDLOOP_MAX] = {0};
  int32_t lhs_base = 0, rhs_base = 0;
  do {
    for (int32_t r = 0; r < p->rows; ++r) {
      const int16_t *lhs_row = lhs + lhs_base + r * p->lhs_row_stride;
      for (int32_t c = 0; c < p->cols; ++c) {
        const int16_t *rhs_col = rhs + rhs_base + c * p->rhs_col_stride;
        int64_t acc = 0;
        for (int32_t k = 0; k < p->depth; ++k) {
          const int64_t a = lhs_row[k * p->lhs_depth_stride] + p->lhs_offset;
          const int64_t b = rhs_col[k * p->rhs_depth_stride] + p->rhs_offset;
          acc += a * b;
        }
        const int32_t v = tq_wrap_add(tq_mbqm64(acc, p->multiplier, p->shift), p->output_offset);
        *output++ = (int16_t)TQ_CLAMP(v, INT16_MIN, INT16_MAX);
      }
    }
  } while (tq_ndloop_step(&p->batches, p->batches.rank, index, &lhs_base, &rhs_base));
}
