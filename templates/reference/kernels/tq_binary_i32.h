#ifndef TQ_BINARY_I32_H
#define TQ_BINARY_I32_H
#include "tq_broadcast.h"

/* int32 ADD, SUB, MUL: wrapping arithmetic (TFLM's overflow, defined), clamped to the range. */
typedef struct {
  tq_ndloop_t loops;
  int32_t act_min, act_max;
} tq_binary_i32_params_t;

void tq_add_i32(const tq_binary_i32_params_t *p, const int32_t *x, const int32_t *y, int32_t *output);
void tq_sub_i32(const tq_binary_i32_params_t *p, const int32_t *x, const int32_t *y, int32_t *output);
void tq_mul_i32(const tq_binary_i32_params_t *p, const int32_t *x, const int32_t *y, int32_t *output);
#endif
