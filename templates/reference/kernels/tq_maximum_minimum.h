#ifndef TQ_MAXIMUM_MINIMUM_H
#define TQ_MAXIMUM_MINIMUM_H
#include "tq_broadcast.h"

/* MAXIMUM and MINIMUM: TFLM compares the stored integers, whatever the quantization. */
#define TQ_MAXIMUM_MINIMUM_DECLARE(suffix, T)                                                        \
  void tq_maximum_##suffix(const tq_ndloop_t *n, const T *x, const T *y, T *output);                \
  void tq_minimum_##suffix(const tq_ndloop_t *n, const T *x, const T *y, T *output);

TQ_MAXIMUM_MINIMUM_DECLARE(s8, int8_t)
TQ_MAXIMUM_MINIMUM_DECLARE(s16, int16_t)
TQ_MAXIMUM_MINIMUM_DECLARE(s32, int32_t)
TQ_MAXIMUM_MINIMUM_DECLARE(s64, int64_t)
#endif
