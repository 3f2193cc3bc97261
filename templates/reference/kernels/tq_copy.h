#ifndef TQ_COPY_H
#define TQ_COPY_H
#include "tq_common.h"

#define TQ_COPY_MAX_RANK 6

/* Up to six nested loops, outermost first, around a contiguous block of `block` bytes:
 * iteration (i0, i1, ...) copies the block at src + src_start + sum(i_k * src_stride[k]) to
 * dst + dst_start + sum(i_k * dst_stride[k]). Strides are bytes and may be negative or 0. */
typedef struct {
  int32_t rank;
  int32_t count[TQ_COPY_MAX_RANK];
  int32_t src_stride[TQ_COPY_MAX_RANK];
  int32_t dst_stride[TQ_COPY_MAX_RANK];
  int32_t block;
  int32_t src_start;
  int32_t dst_start;
} tq_copy_params_t;

/* A copy with no loop is one block; when the planner made the destination those very bytes
 * of the source (a view), there is nothing to move and tq_copy returns at once. */
void tq_copy(const tq_copy_params_t *p, const void *src, void *dst);

/* The output written in order, `block` bytes per innermost iteration, from the source's byte
 * offsets[table_start[0] + i0] + offsets[table_start[1] + i1] + ... (one table per loop). */
typedef struct {
  int32_t rank;
  int32_t count[TQ_COPY_MAX_RANK];
  int32_t table_start[TQ_COPY_MAX_RANK];
  int32_t block;
} tq_copy_table_params_t;

void tq_copy_table(const tq_copy_table_params_t *p, const int32_t *offsets, const void *src, void *dst);
#endif
