#include "tq_log_softmax.h"
#include "tq_fixedpoint.h"
#include "tq_log.h"

/* reference_ops::LogSoftmaxQuantized (int8): per row, log(sum of exp(difference to the row
 * maximum)) in gemmlowp fixed point, then each output = difference - that log, on the
 * 1/16 grid plus 127. The exps are recomputed per pass, as TFLM does: no scratch. */

enum { TQ_LOG_SOFTMAX_DIFF_BITS = 5, TQ_LOG_SOFTMAX_ACCUM_BITS = 12, TQ_LOG_SOFTMAX_OUTPUT_BITS = 4 };

static int32_t tq_log_softmax_scaled(const tq_log_softmax_params_t *p, int32_t diff) {
  return tq_mbqm(diff, p->input_multiplier, p->input_left_shift);
}

void tq_log_softmax_s8(const tq_log_softmax_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int8_t *out = output + i * p->depth;
    int8_t max = INT8_MIN;
    for (int32_t c = 0; c < p->depth; ++c) max = TQ_MAX(max, in[c]);
    int32_t sum_of_exps = 0; /* Q12.19 */
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)in[c] - max;
      if (diff >= p->diff_min) {
        const int32_t e = tq_fp_exp_on_negative_values(tq_log_softmax_scaled(p, diff), TQ_LOG_SOFTMAX_DIFF_BITS);
        sum_of_exps = tq_fp_add(sum_of_exps, tq_fp_rescale(e, 0, TQ_LOG_SOFTMAX_ACCUM_BITS));
      }
    }
    const int32_t log_sum = tq_fp_log_x_ge_1(sum_of_exps, TQ_LOG_SOFTMAX_ACCUM_BITS, TQ_LOG_SOFTMAX_DIFF_BITS);
    /* the smallest Q5.26 value plus the log-sum, back on the input scale: differences at
     * or below it would underflow Q5.26 once the log-sum is subtracted */
    const int32_t reversed = tq_mbqm(tq_fp_add(log_sum, INT32_MIN), p->reverse_scaling_divisor,
                                     -p->reverse_scaling_right_shift);
    const int32_t adjusted_diff_min = TQ_MAX(p->diff_min - 1, reversed);
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)in[c] - max;
      if (diff > adjusted_diff_min) {
        const int32_t shifted = tq_fp_sub(tq_log_softmax_scaled(p, diff), log_sum);
        const int32_t v = tq_rdbpot(shifted, 31 - TQ_LOG_SOFTMAX_DIFF_BITS - TQ_LOG_SOFTMAX_OUTPUT_BITS) + INT8_MAX;
        out[c] = (int8_t)TQ_CLAMP(v, INT8_MIN, INT8_MAX);
      } else {
        out[c] = INT8_MIN;
      }
    }
  }
}
