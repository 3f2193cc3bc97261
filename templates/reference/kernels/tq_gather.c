#include "tq_gather.h"

/* TFLM's Gather: for each batch and outer position, one run of `chunk` bytes per index.
 * TFLM only DCHECKs the index (no check in release builds); tinyq refuses to read outside
 * the input and fails instead. EMBEDDING_LOOKUP is the same walk with one batch and outer
 * position, and TFLM fails on exactly the same indices. */
int tq_gather(const tq_gather_params_t *p, const int32_t *indices, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const size_t chunk = (size_t)p->chunk;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int32_t *index = indices + b * p->indices;
    for (int32_t o = 0; o < p->outer; ++o) {
      const uint8_t *base = in + ((int64_t)(b * p->outer + o) * p->axis_size) * p->chunk;
      for (int32_t i = 0; i < p->indices; ++i) {
        const int32_t k = index[i];
        if (k < 0 || k >= p->axis_size) return -1;
        memcpy(out, base + (int64_t)k * p->chunk, chunk);
        out += chunk;
      }
    }
  }
  return 0;
}

/* TFLM's GatherNd checks a slice's flat position, not each index: its int sum of
 * index * elements-per-step wraps, so the sum is taken modulo 2^32 here too. The end of
 * the slice is compared in 64 bits, where TFLM's int sum could wrap past the check. */
int tq_gather_nd(const tq_gather_nd_params_t *p, const int32_t *indices, const void *params, void *output) {
  const uint8_t *in = (const uint8_t *)params;
  uint8_t *out = (uint8_t *)output;
  const size_t bytes = (size_t)p->slice_size * (size_t)p->item;
  for (int32_t i = 0; i < p->slices; ++i) {
    uint32_t sum = 0;
    for (int32_t j = 0; j < p->index_depth; ++j) {
      sum += (uint32_t)indices[i * p->index_depth + j] * (uint32_t)p->counts[j];
    }
    const int32_t from = (int32_t)sum;
    if (from < 0 || (int64_t)from + p->slice_size > p->flat_size) return -1;
    memcpy(out, in + (int64_t)from * p->item, bytes);
    out += bytes;
  }
  return 0;
}

/* TFLM's EvalHybrid: each int8 value times the table's scale (zero point 0), in float. */
int tq_embedding_lookup_hybrid(const tq_embedding_hybrid_params_t *p, const int32_t *lookups, const int8_t *table,
                               float *output) {
  for (int32_t i = 0; i < p->lookups; ++i) {
    const int32_t row = lookups[i];
    if (row < 0 || row >= p->rows) return -1;
    const int8_t *values = table + (int64_t)row * p->columns;
    for (int32_t c = 0; c < p->columns; ++c) {
      *output++ = (float)values[c] * p->scale;
    }
  }
  return 0;
}
