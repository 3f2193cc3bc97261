/* Dot products for the reference conv and fully connected kernels. Their
 * filters come blocked (tinyq/ops/conv_2d.py, blocked_weights): a group's output
 * channels TQ_BLOCK at a time, each block's weights interleaved tap by tap
 * ([tap][TQ_BLOCK]), the last channels that do not fill a block interleaved the
 * same way ([tap][lanes]). One input byte then feeds TQ_BLOCK multiply-adds
 * whose weights are one pointer's fixed offsets. */
#ifndef TQ_DOT_H
#define TQ_DOT_H
#include "tq_common.h"

#define TQ_BLOCK 8

typedef struct {
  int32_t a0, a1, a2, a3, a4, a5, a6, a7;
} tq_acc8_t;

/* acc.ak + sum over n taps (sums wrap, tq_wrap_add) of (x[i] + x_offset) * w[i * TQ_BLOCK + k]. */
static inline tq_acc8_t tq_dot8(const int8_t *x, int32_t x_offset, const int8_t *w, int32_t n, tq_acc8_t acc) {
  int32_t a0 = acc.a0, a1 = acc.a1, a2 = acc.a2, a3 = acc.a3, a4 = acc.a4, a5 = acc.a5, a6 = acc.a6, a7 = acc.a7;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t u = x[i] + x_offset;
    a0 = tq_wrap_add(a0, u * w[0]);
    a1 = tq_wrap_add(a1, u * w[1]);
    a2 = tq_wrap_add(a2, u * w[2]);
    a3 = tq_wrap_add(a3, u * w[3]);
    a4 = tq_wrap_add(a4, u * w[4]);
    a5 = tq_wrap_add(a5, u * w[5]);
    a6 = tq_wrap_add(a6, u * w[6]);
    a7 = tq_wrap_add(a7, u * w[7]);
    w += TQ_BLOCK;
  }
  acc.a0 = a0;
  acc.a1 = a1;
  acc.a2 = a2;
  acc.a3 = a3;
  acc.a4 = a4;
  acc.a5 = a5;
  acc.a6 = a6;
  acc.a7 = a7;
  return acc;
}

/* acc + sum over n taps of (x[i] + x_offset) * w[i * stride]. */
static inline int32_t tq_dot1(const int8_t *x, int32_t x_offset, const int8_t *w, int32_t stride, int32_t n,
                              int32_t acc) {
  for (int32_t i = 0; i < n; ++i) {
    acc = tq_wrap_add(acc, (x[i] + x_offset) * *w);
    w += stride;
  }
  return acc;
}

/* Requantization of one output channel: TFLM's MultiplyByQuantizedMultiplier,
 * the output zero point, the activation clamp. */
typedef struct {
  const int32_t *multiplier;
  const int8_t *shift;
  int32_t offset, lo, hi;
} tq_requant_t;

static inline int8_t tq_requant(const tq_requant_t *rq, int32_t acc, int32_t channel) {
  acc = tq_wrap_add(tq_mbqm_q(acc, rq->multiplier[channel], rq->shift[channel]), rq->offset);
  if (acc < rq->lo) acc = rq->lo;
  if (acc > rq->hi) acc = rq->hi;
  return (int8_t)acc;
}

/* The block's starting accumulators (zero without a start array). */
static inline tq_acc8_t tq_acc8_load(const int32_t *start, int32_t oc) {
  tq_acc8_t acc = {0, 0, 0, 0, 0, 0, 0, 0};
  if (start) {
    const tq_acc8_t s = {start[oc],     start[oc + 1], start[oc + 2], start[oc + 3],
                         start[oc + 4], start[oc + 5], start[oc + 6], start[oc + 7]};
    acc = s;
  }
  return acc;
}

static inline void tq_acc8_store(const tq_requant_t *rq, tq_acc8_t acc, int32_t oc, int8_t *output) {
  output[oc] = tq_requant(rq, acc.a0, oc);
  output[oc + 1] = tq_requant(rq, acc.a1, oc + 1);
  output[oc + 2] = tq_requant(rq, acc.a2, oc + 2);
  output[oc + 3] = tq_requant(rq, acc.a3, oc + 3);
  output[oc + 4] = tq_requant(rq, acc.a4, oc + 4);
  output[oc + 5] = tq_requant(rq, acc.a5, oc + 5);
  output[oc + 6] = tq_requant(rq, acc.a6, oc + 6);
  output[oc + 7] = tq_requant(rq, acc.a7, oc + 7);
}
#endif
