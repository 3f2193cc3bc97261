#include "tq_batch_matmul_f32.h"

/* reference_ops::BatchMatMul<float>: each output sums lhs[r][k] * rhs[k][c] from 0.0f over k in
 * order (TFLM's transposed copies change where the values are, not that order). */
void tq_batch_matmul_f32(const tq_batch_matmul_params_t *p, const float *lhs, const float *rhs, float *output) {
  int32_t index[TQ_NDLOOP_MAX] = {0};
  int32_t lhs_base = 0, rhs_base = 0;
  do {
    for (int32_t r = 0; r < p->rows; ++r) {
      const float *lhs_row = lhs + lhs_base + r * p->lhs_row_stride;
      for (int32_t c = 0; c < p->cols; ++c) {
        const float *rhs_col = rhs + rhs_base + c * p->rhs_col_stride;
        float total = 0.0f;
        for (int32_t k = 0; k < p->depth; ++k) total += lhs_row[k * p->lhs_depth_stride] * rhs_col[k * p->rhs_depth_stride];
        *output++ = total;
      }
    }
  } while (tq_ndloop_step(&p->batches, p->batches.rank, index, &lhs_base, &rhs_base));
}
