#ifndef TQ_LOG_SOFTMAX_H
#define TQ_LOG_SOFTMAX_H
#include "tq_common.h"

typedef struct {
  int32_t outer_size, depth;
  int32_t input_multiplier, input_left_shift;  /* input difference -> Q5.26 */
  int32_t reverse_scaling_divisor, reverse_scaling_right_shift;  /* Q5.26 -> input difference */
  int32_t diff_min;  /* differences below it contribute nothing */
} tq_log_softmax_params_t;

void tq_log_softmax_s8(const tq_log_softmax_params_t *p, const int8_t *input, int8_t *output);
#endif
