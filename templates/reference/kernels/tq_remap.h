#ifndef TQ_REMAP_H
#define TQ_REMAP_H
#include "tq_common.h"

/* The output is batches x rows x cols chunks of `chunk` bytes, written in order. */
typedef struct {
  int32_t batches;
  int32_t rows;
  int32_t cols;
  int32_t chunk;
  int32_t col_batch_stride; /* 0: one column table for every batch */
  int32_t pad_byte;
} tq_remap_params_t;

/* Chunk (b, y, x) is the input's bytes from row_offsets[b*rows + y] + col_offsets[b*stride + x],
 * or pad_byte repeated when either offset is -1. */
void tq_remap(const tq_remap_params_t *p, const int32_t *row_offsets, const int32_t *col_offsets,
              const void *input, void *output);
#endif
