#include "tq_batch_matmul.h"

/* reference_ops::BatchMatMul (int8): one int32 dot product per output, summed in
 * unsigned arithmetic (TFLM's int32 sum, wrapping instead of undefined), rescaled,
 * offset and clamped to int8. The output is written in row-major order. */
void tq_batch_matmul_s8(const tq_batch_matmul_params_t *p, const int8_t *lhs, const int8_t *rhs,
                        int8_t *output) {
  int32_t index[TQ_NDLOOP_MAX] = {0};
  int32_t lhs_base = 0, rhs_base = 0;
  do {
    for (int32_t r = 0; r < p->rows; ++r) {
      const int8_t *lhs_row = lhs + lhs_base + r * p->lhs_row_stride;
      for (int32_t c = 0; c < p->cols; ++c) {
        const int8_t *rhs_col = rhs + rhs_base + c * p->rhs_col_stride;
        uint32_t acc = 0;
        for (int32_t k = 0; k < p->depth; ++k) {
          const int32_t a = lhs_row[k * p->lhs_depth_stride] + p->lhs_offset;
          const int32_t b = rhs_col[k * p->rhs_depth_stride] + p->rhs_offset;
          acc += (uint32_t)(a * b);
        }
        const int32_t v = tq_mbqm((int32_t)acc, p->multiplier, p->shift) + p->output_offset;
        *output++ = (int8_t)TQ_CLAMP(v, INT8_MIN, INT8_MAX);
      }
    }
  } while (tq_ndloop_step(&p->batches, p->batches.rank, index, &lhs_base, &rhs_base));
}
