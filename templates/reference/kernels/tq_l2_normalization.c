#include "tq_l2_normalization.h"
#include "tq_inv_sqrt.h"

/* reference_integer_ops::L2Normalization: each row divided by the square root of its sum
 * of squares, written on the 1/128 grid. The sum wraps in int32 like TFLM's (only rows of
 * more than 33,025 elements can reach that). */

enum { TQ_L2_OUTPUT_SHIFT = 7 };

void tq_l2_normalization_s8(const tq_l2_normalization_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int8_t *out = output + i * p->depth;
    int32_t sum_of_squares = 0;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t d = (int32_t)in[c] - p->input_zero_point;
      sum_of_squares = tq_wrap_add(sum_of_squares, d * d);
    }
    int32_t multiplier;
    int shift;
    tq_inv_sqrt_multiplier_exp(sum_of_squares, -1, &multiplier, &shift);
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t v = tq_mbqm((int32_t)in[c] - p->input_zero_point, multiplier, shift + TQ_L2_OUTPUT_SHIFT);
      out[c] = (int8_t)TQ_CLAMP(v, INT8_MIN, INT8_MAX);
    }
  }
}
