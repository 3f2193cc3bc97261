#ifndef TQ_COMPARE_H
#define TQ_COMPARE_H
#include "tq_broadcast.h"

/* EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL: one kernel, the op a table of
 * outcomes. int8 operands are first brought to a common scale (TFLM's ComparisonWithScaling);
 * the other types compare the stored values. Outputs are bools, one byte each (0 or 1). */
typedef struct {
  tq_ndloop_t loops;  /* over the output; stride_a/stride_b step x/y */
  int32_t outcomes;   /* bit 0: the result when x < y, bit 1: when x == y, bit 2: when x > y */
  int32_t left_shift; /* int8 only */
  int32_t input1_offset, input1_multiplier, input1_shift;
  int32_t input2_offset, input2_multiplier, input2_shift;
} tq_compare_params_t;

void tq_compare_s8(const tq_compare_params_t *p, const int8_t *x, const int8_t *y, uint8_t *output);
void tq_compare_s32(const tq_compare_params_t *p, const int32_t *x, const int32_t *y, uint8_t *output);
void tq_compare_s64(const tq_compare_params_t *p, const int64_t *x, const int64_t *y, uint8_t *output);
void tq_compare_b8(const tq_compare_params_t *p, const uint8_t *x, const uint8_t *y, uint8_t *output);
#endif
