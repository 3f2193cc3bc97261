#include "tq_tanh.h"
#include "tq_fixedpoint.h"

/* reference_integer_ops::Tanh (int8): tanh of the Q4.27 input in gemmlowp fixed
 * point, then Q0.31 -> 1/128 steps with zero point 0. */
void tq_tanh_s8(const tq_tanh_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)input[i] - p->input_zero_point;
    if (x <= -p->input_range_radius) {
      output[i] = INT8_MIN;
    } else if (x >= p->input_range_radius) {
      output[i] = INT8_MAX;
    } else {
      const int32_t x_q4 = tq_mbqm(x, p->input_multiplier, p->input_left_shift);
      const int32_t y = tq_rdbpot(tq_fp_tanh(x_q4, 4), 31 - 7);
      output[i] = (int8_t)TQ_CLAMP(y, INT8_MIN, INT8_MAX);
    }
  }
}
