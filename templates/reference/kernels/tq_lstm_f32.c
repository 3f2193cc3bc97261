#include "tq_lstm_f32.h"
#include "tq_libm_f32.h"

/* lstm_internal::LstmStep<float>: TFLM computes each gate for all units into a buffer, then the
 * element-wise steps; all of them after the fully connected sums are per unit, so computing unit by
 * unit gives the same numbers. Each gate: the input fully connected (sum from 0.0f, + bias, clamped
 * to +-FLT_MAX) plus the recurrent one (no bias: + 0.0f, clamped), then Logistic (TFLM's cutoffs) or
 * tanh. Cell: clamp(f * c) + clamp(i * g), clipped with std::min/std::max; hidden: clamp(tanh(cell) *
 * o). Products are clamped as reference_ops::Mul does with no activation. The recurrent sums read the
 * previous hidden state, so the new one goes to the output row first. */

static const float kMax = 0x1.fffffep+127f;

static float fc(const float *x, const float *w, int32_t n, float bias) {
  float total = 0.0f;
  for (int32_t k = 0; k < n; ++k) total += x[k] * w[k];
  return tq_clamp_f32(total + bias, -kMax, kMax);
}

static float logistic(float x) {
  if (x > 16.619047164916992188f) return 1.0f;
  if (x < -9.0f) return tq_expf(x);
  return 1.0f / (1.0f + tq_expf(-x));
}

static void step(const tq_lstm_f32_params_t *p, const float *input, float *hidden, float *cell, float *output) {
  const int32_t n_in = p->input_size, n_h = p->hidden_size;
  for (int32_t r = 0; r < p->rows; ++r) {
    const float *x = input + r * n_in;
    float *h = hidden + r * n_h, *c = cell + r * n_h, *y = output + r * n_h;
    for (int32_t u = 0; u < n_h; ++u) {
      float gate[4];
      for (int g = 0; g < 4; ++g) {
        const float a = fc(x, p->input_weights + (g * n_h + u) * n_in, n_in, p->bias[g * n_h + u]);
        const float b = fc(h, p->recurrent_weights + (g * n_h + u) * n_h, n_h, 0.0f);
        gate[g] = a + b;
      }
      const float f = logistic(gate[0]), i = logistic(gate[1]), g = tq_tanhf(gate[2]), o = logistic(gate[3]);
      float cu = tq_clamp_f32(f * c[u], -kMax, kMax) + tq_clamp_f32(i * g, -kMax, kMax);
      if (p->cell_clip > 0.0f) {
        const float clip = p->cell_clip;
        const float low = cu < clip ? cu : clip; /* std::min(clip, cell) */
        cu = low < -clip ? -clip : low;          /* std::max(..., -clip) */
      }
      c[u] = cu;
      y[u] = tq_clamp_f32(tq_tanhf(cu) * o, -kMax, kMax);
    }
    memcpy(h, y, (size_t)n_h * sizeof(float));
  }
}

/* Sequences one after another (batch-major: each its own batch row of the state), each over its
 * time steps; the input and output are [sequence][step][rows][size]. */
void tq_lstm_f32(const tq_lstm_f32_params_t *p, const float *in, float *hidden_state, float *cell_state, float *out) {
  const int32_t n_in = p->input_size, n_h = p->hidden_size, rows = p->rows;
  for (int32_t s = 0; s < p->sequences; ++s) {
    for (int32_t t = 0; t < p->steps; ++t) {
      step(p, in + (s * p->steps + t) * rows * n_in, hidden_state + s * n_h, cell_state + s * n_h,
           out + (s * p->steps + t) * rows * n_h);
    }
  }
}
