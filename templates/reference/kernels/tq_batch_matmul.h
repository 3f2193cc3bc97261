#ifndef TQ_BATCH_MATMUL_H
#define TQ_BATCH_MATMUL_H
#include "tq_ndloop.h"

typedef struct {
  tq_ndloop_t batches;           /* output matrices; stride_a steps the lhs, stride_b the rhs */
  int32_t rows, cols, depth;     /* output [rows, cols] = lhs [rows, depth] x rhs [depth, cols] */
  int32_t lhs_row_stride, lhs_depth_stride, rhs_depth_stride, rhs_col_stride; /* elements */
  int32_t lhs_offset, rhs_offset, output_offset;
  int32_t multiplier, shift;     /* lhs scale * rhs scale / output scale */
} tq_batch_matmul_params_t;

void tq_batch_matmul_s8(const tq_batch_matmul_params_t *p, const int8_t *lhs, const int8_t *rhs, int8_t *output);
#endif
