#include "tq_add_n.h"

/* reference_ops::AddN (int8): every input rescaled with ADD's headroom and summed, then rescaled
 * to the output and clamped to int8. TFLM starts the sum at the rescaled input offset, not at 0
 * (its "x = 0" is params.input1_offset), and so does this. The sum wraps as TFLM's int would.
 * Element i of every input is read before output element i is written. */
void tq_add_n_s8(const tq_add_n_params_t *p, const int8_t *const *inputs, int8_t *output) {
  const tq_add_n_params_t q = *p;
  const int32_t m = q.input_multiplier, s = -q.input_shift;
  const int32_t start = tq_rdbpot(tq_srdhm_q((int32_t)((uint32_t)q.input_offset << q.left_shift), m), s);
  for (int32_t i = 0; i < q.count; ++i) {
    int32_t sum = start;
    for (int32_t j = 0; j < q.inputs; ++j) {
      const int32_t shifted = (int32_t)((uint32_t)(inputs[j][i] + q.input_offset) << q.left_shift);
      sum = tq_wrap_add(sum, tq_rdbpot(tq_srdhm_q(shifted, m), s));
    }
    const int32_t out = tq_rdbpot(tq_srdhm_q(sum, q.output_multiplier), -q.output_shift) + q.output_offset;
    output[i] = (int8_t)TQ_CLAMP(out, -128, 127);
  }
}
