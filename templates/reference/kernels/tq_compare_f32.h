#ifndef TQ_COMPARE_F32_H
#define TQ_COMPARE_F32_H
#include "tq_f32.h"
#include "tq_ndloop.h"

/* float32 comparisons into bool bytes; a NaN compares unequal and unordered, as in C++. */
#define TQ_COMPARE_F32_DECLARE(name) void name(const tq_ndloop_t *n, const float *x, const float *y, uint8_t *output);
TQ_COMPARE_F32_DECLARE(tq_equal_f32)
TQ_COMPARE_F32_DECLARE(tq_not_equal_f32)
TQ_COMPARE_F32_DECLARE(tq_greater_f32)
TQ_COMPARE_F32_DECLARE(tq_greater_equal_f32)
TQ_COMPARE_F32_DECLARE(tq_less_f32)
TQ_COMPARE_F32_DECLARE(tq_less_equal_f32)
#endif
