#include "tq_copy.h"

/* count blocks of `block` bytes, strided on both sides; single bytes (a transpose's usual
 * innermost loop) are assigned rather than passed to memcpy one call each. */
static void tq_copy_run(uint8_t *d, const uint8_t *s, int32_t count, int32_t d_stride, int32_t s_stride,
                        int32_t block) {
  if (block == 1) {
    for (int32_t i = 0; i < count; ++i, d += d_stride, s += s_stride) *d = *s;
    return;
  }
  for (int32_t i = 0; i < count; ++i, d += d_stride, s += s_stride) memcpy(d, s, (size_t)block);
}

void tq_copy(const tq_copy_params_t *p, const void *src, void *dst) {
  const uint8_t *s = (const uint8_t *)src;
  uint8_t *d = (uint8_t *)dst;
  if (p->rank == 0) {
    if (d + p->dst_start != s + p->src_start) memcpy(d + p->dst_start, s + p->src_start, (size_t)p->block);
    return;
  }
  /* The outer loops as an odometer over byte offsets (offsets, not pointers: a negative
   * stride walks an offset below the block it started from, which a pointer may not). */
  const int32_t inner = p->rank - 1;
  int32_t index[TQ_COPY_MAX_RANK] = {0};
  int32_t so = p->src_start, doff = p->dst_start;
  for (;;) {
    tq_copy_run(d + doff, s + so, p->count[inner], p->dst_stride[inner], p->src_stride[inner], p->block);
    int32_t k = inner - 1;
    for (; k >= 0; --k) {
      so += p->src_stride[k];
      doff += p->dst_stride[k];
      if (++index[k] < p->count[k]) break;
      so -= p->src_stride[k] * p->count[k];
      doff -= p->dst_stride[k] * p->count[k];
      index[k] = 0;
    }
    if (k < 0) return;
  }
}

void tq_copy_table(const tq_copy_table_params_t *p, const int32_t *offsets, const void *src, void *dst) {
  const uint8_t *s = (const uint8_t *)src;
  uint8_t *d = (uint8_t *)dst;
  const size_t block = (size_t)p->block;
  if (p->rank == 0) {
    memcpy(d, s, block);
    return;
  }
  const int32_t inner = p->rank - 1;
  const int32_t *row = offsets + p->table_start[inner];
  int32_t index[TQ_COPY_MAX_RANK] = {0};
  for (;;) {
    int32_t base = 0;
    for (int32_t k = 0; k < inner; ++k) base += offsets[p->table_start[k] + index[k]];
    if (block == 1) {
      for (int32_t i = 0; i < p->count[inner]; ++i) *d++ = s[base + row[i]];
    } else {
      for (int32_t i = 0; i < p->count[inner]; ++i, d += block) memcpy(d, s + base + row[i], block);
    }
    int32_t k = inner - 1;
    for (; k >= 0; --k) {
      if (++index[k] < p->count[k]) break;
      index[k] = 0;
    }
    if (k < 0) return;
  }
}
