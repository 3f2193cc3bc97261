#ifndef TQ_GATHER_H
#define TQ_GATHER_H
#include "tq_common.h"

/* Indices read at run time; each kernel returns 0, or -1 for an index TFLM's Eval rejects
 * (or, for GATHER, one TFLM would read outside the input with). */
typedef struct {
  int32_t batches;
  int32_t outer;
  int32_t indices; /* per batch */
  int32_t axis_size;
  int32_t chunk; /* bytes per index */
} tq_gather_params_t;

int tq_gather(const tq_gather_params_t *p, const int32_t *indices, const void *input, void *output);

typedef struct {
  int32_t slices;
  int32_t index_depth;
  int32_t slice_size; /* elements */
  int32_t flat_size;  /* elements of the params */
  int32_t item;       /* bytes per element */
  int32_t counts[5];  /* elements per step of each indexed dimension */
} tq_gather_nd_params_t;

int tq_gather_nd(const tq_gather_nd_params_t *p, const int32_t *indices, const void *params, void *output);

typedef struct {
  int32_t lookups;
  int32_t rows;
  int32_t columns;
  float scale;
} tq_embedding_hybrid_params_t;

int tq_embedding_lookup_hybrid(const tq_embedding_hybrid_params_t *p, const int32_t *lookups, const int8_t *table,
                               float *output);
#endif
