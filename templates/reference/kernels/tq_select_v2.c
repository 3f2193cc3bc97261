#include "tq_select_v2.h"

/* Values are copied, never computed on (a float's bits pass through unchanged). Each element of a
 * non-broadcast operand is read just before the output element at its place is written. */
#define TQ_SELECT_V2_DEFINE(suffix, T)                                                               \
  void tq_select_v2_##suffix(const tq_select_v2_params_t *p, const uint8_t *cond, const T *x,        \
                             const T *y, T *output) {                                                \
    const tq_ndloop_t *n = &p->cond_x, *m = &p->y;                                                   \
    const int32_t last = n->rank - 1, count = n->shape[last];                                        \
    const int32_t sc = n->stride_a[last], sx = n->stride_b[last], sy = m->stride_a[last];            \
    int32_t index[TQ_NDLOOP_MAX] = {0}, index_y[TQ_NDLOOP_MAX] = {0};                                \
    int32_t ic = 0, ix = 0, iy = 0, unused = 0;                                                      \
    do {                                                                                             \
      for (int32_t i = 0; i < count; ++i) *output++ = cond[ic + i * sc] ? x[ix + i * sx] : y[iy + i * sy]; \
    } while (tq_ndloop_step(n, last, index, &ic, &ix) && tq_ndloop_step(m, last, index_y, &iy, &unused)); \
  }

TQ_SELECT_V2_DEFINE(s8, int8_t)
TQ_SELECT_V2_DEFINE(s16, int16_t)
TQ_SELECT_V2_DEFINE(f32, float)
