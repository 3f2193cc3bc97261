#ifndef TQ_BATCH_MATMUL_F32_H
#define TQ_BATCH_MATMUL_F32_H
#include "tq_batch_matmul.h"
#include "tq_f32.h"

/* float32 BATCH_MATMUL on the int8 kernel's geometry (its offsets and rescaling unused). */
void tq_batch_matmul_f32(const tq_batch_matmul_params_t *p, const float *lhs, const float *rhs, float *output);
#endif
