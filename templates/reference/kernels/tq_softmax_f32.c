#include "tq_softmax_f32.h"
#include "tq_libm_f32.h"

/* Both read a whole row (its maximum from -FLT_MAX with std::max, then a sum of exps from 0.0f)
 * before writing it, then read element c just before writing element c. */

/* reference_ops::Softmax: exp((x - max) * beta) into the output, then each divided by the sum. */
void tq_softmax_f32(const tq_softmax_f32_params_t *p, const float *input, float *output) {
  const int32_t depth = p->depth;
  const float beta = p->beta;
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const float *x = input + i * depth;
    float *y = output + i * depth;
    float max = -0x1.fffffep+127f;
    for (int32_t c = 0; c < depth; ++c) max = tq_max_f32(max, x[c]);
    float sum = 0.0f;
    for (int32_t c = 0; c < depth; ++c) {
      const float e = tq_expf((x[c] - max) * beta);
      y[c] = e;
      sum += e;
    }
    for (int32_t c = 0; c < depth; ++c) y[c] = y[c] / sum;
  }
}

/* reference_ops::LogSoftmax: x - max - log(sum of exp(x - max)). */
void tq_log_softmax_f32(const tq_softmax_f32_params_t *p, const float *input, float *output) {
  const int32_t depth = p->depth;
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const float *x = input + i * depth;
    float *y = output + i * depth;
    float max = -0x1.fffffep+127f;
    for (int32_t c = 0; c < depth; ++c) max = tq_max_f32(max, x[c]);
    float sum = 0.0f;
    for (int32_t c = 0; c < depth; ++c) sum += tq_expf(x[c] - max);
    const float log_sum = tq_logf(sum);
    for (int32_t c = 0; c < depth; ++c) y[c] = x[c] - max - log_sum;
  }
}

/* reference_ops::L2Normalization: x / max(sqrt(sum of squares from 0.0f), 1e-6f). */
void tq_l2_normalization_f32(const tq_softmax_f32_params_t *p, const float *input, float *output) {
  const int32_t depth = p->depth;
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const float *x = input + i * depth;
    float *y = output + i * depth;
    float squared = 0.0f;
    for (int32_t c = 0; c < depth; ++c) squared += x[c] * x[c];
    const float norm = tq_max_f32(tq_sqrtf(squared), 1e-6f);
    for (int32_t c = 0; c < depth; ++c) y[c] = x[c] / norm;
  }
}
