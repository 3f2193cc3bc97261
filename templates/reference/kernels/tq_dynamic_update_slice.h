#ifndef TQ_DYNAMIC_UPDATE_SLICE_H
#define TQ_DYNAMIC_UPDATE_SLICE_H
#include "tq_common.h"

typedef struct {
  int32_t rank;
  int32_t dims[6];        /* the operand's (and output's), 1s after rank */
  int32_t update_dims[6];
  int32_t item;           /* bytes per element */
  int32_t whole;          /* the update covers the operand */
} tq_dynamic_update_slice_params_t;

/* TFLM's CalculateClampedStartIndices of run-time indices: each into [0, dim - update_dim]. */
void tq_dynamic_update_slice_clamp32(const tq_dynamic_update_slice_params_t *p, const int32_t *indices, int32_t *starts);
void tq_dynamic_update_slice_clamp64(const tq_dynamic_update_slice_params_t *p, const int64_t *indices, int32_t *starts);

/* starts: clamped. operand and output may be the same buffer. */
void tq_dynamic_update_slice(const tq_dynamic_update_slice_params_t *p, const int32_t *starts, const void *operand,
                             const void *update, void *output);
#endif
