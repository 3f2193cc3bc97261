#ifndef TQ_SHAPE_H
#define TQ_SHAPE_H
#include "tq_common.h"

/* TFLM's BroadcastArgs: 0, or -1 where two dimensions are neither equal nor 1 (TFLM aborts). */
int tq_broadcast_args_s32(const int32_t *a, int32_t len_a, const int32_t *b, int32_t len_b, int32_t *output,
                          int32_t len_out);
int tq_broadcast_args_s64(const int64_t *a, int32_t len_a, const int64_t *b, int32_t len_b, int64_t *output,
                          int32_t len_out);
#endif
