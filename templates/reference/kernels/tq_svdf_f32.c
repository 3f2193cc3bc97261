#include "tq_svdf_f32.h"
#include "tq_libm_f32.h"

/* glibc's x86-64 fmaxf/fminf (TFLM's TfLiteMax/TfLiteMin are std::fmax/std::fmin): maxss/minss when
 * both are numbers (a tie of zeros gives the second), the number when one is a quiet NaN. */
static int signaling(float x) { return (tq_f32_bits(x) & 0x00400000u) == 0; }

static float fmax_(float x, float y) {
  if (!tq_isnan_f32(x) && !tq_isnan_f32(y)) return x > y ? x : y;
  if (tq_isnan_f32(x) && tq_isnan_f32(y)) return x + y;
  if (tq_isnan_f32(x)) return signaling(x) ? x + y : y;
  return signaling(y) ? x + y : x;
}

static float fmin_(float x, float y) {
  if (!tq_isnan_f32(x) && !tq_isnan_f32(y)) return x < y ? x : y;
  if (tq_isnan_f32(x) && tq_isnan_f32(y)) return x + y;
  if (tq_isnan_f32(x)) return signaling(x) ? x + y : y;
  return signaling(y) ? x + y : x;
}

/* ActivationValFloat */
static float activation(int32_t act, float a) {
  switch (act) {
    case TQ_SVDF_ACT_RELU: return fmax_(0.0f, a);
    case TQ_SVDF_ACT_RELU_N1_TO_1: return fmax_(-1.0f, fmin_(a, 1.0f));
    case TQ_SVDF_ACT_RELU6: return fmax_(0.0f, fmin_(a, 6.0f));
    case TQ_SVDF_ACT_TANH: return tq_tanhf(a);
    case TQ_SVDF_ACT_SIGN_BIT: return (tq_f32_bits(a) >> 31) ? 1.0f : 0.0f;
    default: return a;
  }
}

/* EvalFloatSvdfReference: the whole state moves left one element; each filter's feature sum (from
 * 0.0f, weight x input) becomes its newest column; per filter the time-weighted sum of its memory
 * (from 0.0f); per unit the bias (or 0.0f) plus its rank filters' sums in order; the activation. */
void tq_svdf_f32(const tq_svdf_f32_params_t *p, const float *input, float *state, const float *feature_weights,
                 const float *time_weights, const float *bias, float *output) {
  const int32_t memory = p->memory, filters = p->filters, n_in = p->input_size;
  const int32_t state_size = p->batches * filters * memory;
  for (int32_t i = 0; i + 1 < state_size; ++i) state[i] = state[i + 1];
  for (int32_t b = 0; b < p->batches; ++b) {
    const float *x = input + b * n_in;
    for (int32_t f = 0; f < filters; ++f) {
      const float *w = feature_weights + f * n_in;
      float dot = 0.0f;
      for (int32_t k = 0; k < n_in; ++k) dot += w[k] * x[k];
      state[(b * filters + f) * memory + memory - 1] = dot;
    }
  }
  for (int32_t b = 0; b < p->batches; ++b) {
    float *y = output + b * p->units;
    for (int32_t u = 0; u < p->units; ++u) {
      float total = bias != NULL ? bias[u] : 0.0f;
      for (int32_t r = 0; r < p->rank; ++r) {
        const int32_t f = u * p->rank + r;
        const float *w = time_weights + f * memory, *s = state + (b * filters + f) * memory;
        float sum = 0.0f;
        for (int32_t t = 0; t < memory; ++t) sum += w[t] * s[t];
        total += sum;
      }
      y[u] = activation(p->activation, total);
    }
  }
}
