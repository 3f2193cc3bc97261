#ifndef TQ_BATCH_MATMUL_S16_H
#define TQ_BATCH_MATMUL_S16_H
#include "tq_batch_matmul.h"
#include "tq_common_s16.h"

/* int16 BATCH_MATMUL: the int8 kernel's parameter block (offsets 0, as TFLM requires). */
void tq_batch_matmul_s16(const tq_batch_matmul_params_t *p, const int16_t *lhs, const int16_t *rhs,
                         int16_t *output);
#endif
