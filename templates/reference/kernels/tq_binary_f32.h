#ifndef TQ_BINARY_F32_H
#define TQ_BINARY_F32_H
#include "tq_f32.h"
#include "tq_ndloop.h"

/* float32 broadcasting binary ops: the output walk (tinyq/ops/ndloops.py), the fused
 * activation's range (add, sub, mul, div), the divisor's element count (floor_div checks it). */
typedef struct {
  tq_ndloop_t loops;
  float act_min, act_max;
  int32_t divisor_count;
} tq_binary_f32_params_t;

void tq_add_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_sub_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_mul_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_div_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_squared_difference_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_maximum_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_minimum_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_prelu_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
void tq_floor_mod_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
/* Nonzero, with the output untouched, when a divisor is 0 (TFLM's Eval fails). */
int tq_floor_div_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output);
#endif
