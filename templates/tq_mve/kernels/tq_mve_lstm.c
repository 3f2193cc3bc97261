/* See tq_mve_lstm.h. The gate activations and cell update are the reference kernel's (tq_lstm.h). */
#include "tq_mve_lstm.h"

#include <string.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* acc[g] += w_g . x over n values, w_g = w + g * stride: whole 16-byte chunks unpredicated, then
 * one predicated tail chunk that loads zeros past n. */
static inline void tq_mve_lstm_dots(const int8_t *x, const int8_t *w, int32_t stride, int32_t n, int32_t acc[4]) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  const int8_t *w0 = w, *w1 = w + stride, *w2 = w + 2 * stride, *w3 = w + 3 * stride;
  int32_t left = n;
  for (; left >= 16; left -= 16) {
    const int8x16_t v = vld1q_s8(x);
    a0 = vmladavaq_s8(a0, vld1q_s8(w0), v);
    a1 = vmladavaq_s8(a1, vld1q_s8(w1), v);
    a2 = vmladavaq_s8(a2, vld1q_s8(w2), v);
    a3 = vmladavaq_s8(a3, vld1q_s8(w3), v);
    x += 16, w0 += 16, w1 += 16, w2 += 16, w3 += 16;
  }
  if (left > 0) {
    const mve_pred16_t p = vctp8q((uint32_t)left);
    const int8x16_t v = vldrbq_z_s8(x, p);
    a0 = vmladavaq_s8(a0, vldrbq_z_s8(w0, p), v);
    a1 = vmladavaq_s8(a1, vldrbq_z_s8(w1, p), v);
    a2 = vmladavaq_s8(a2, vldrbq_z_s8(w2, p), v);
    a3 = vmladavaq_s8(a3, vldrbq_z_s8(w3, p), v);
  }
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
#else
static inline void tq_mve_lstm_dots(const int8_t *x, const int8_t *w, int32_t stride, int32_t n, int32_t acc[4]) {
  for (int g = 0; g < 4; ++g) {
    uint32_t a = (uint32_t)acc[g];
    for (int32_t k = 0; k < n; ++k) a += (uint32_t)(w[g * stride + k] * x[k]);
    acc[g] = (int32_t)a;
  }
}
#endif

void tq_mve_lstm_s8(const tq_lstm_params_t *p, const int8_t *in, int8_t *hidden_state, int16_t *cell_state,
                    int8_t *out) {
  const int32_t n_in = p->input_size, n_h = p->hidden_size, rows = p->rows;
  const int32_t *bias = (const int32_t *)p->effective_bias;
  const uint16_t *table = p->sigmoid_table;
  const int32_t half = p->cell_tanh_shift > 0 ? (int32_t)1 << (p->cell_tanh_shift - 1) : 0;
  for (int32_t s = 0; s < p->sequences; ++s) {
    for (int32_t t = 0; t < p->steps; ++t) {
      for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = in + ((s * p->steps + t) * rows + r) * n_in;
        int8_t *h = hidden_state + (s + r) * n_h;
        int16_t *c = cell_state + (s + r) * n_h;
        int8_t *y = out + ((s * p->steps + t) * rows + r) * n_h;
        for (int32_t u = 0; u < n_h; ++u) {
          int32_t acc_in[4], acc_h[4], gate[4];
          for (int g = 0; g < 4; ++g) {
            acc_in[g] = bias[g * n_h + u];
            acc_h[g] = bias[(4 + g) * n_h + u];
          }
          tq_mve_lstm_dots(x, p->input_weights + u * n_in, n_h * n_in, n_in, acc_in);
          tq_mve_lstm_dots(h, p->recurrent_weights + u * n_h, n_h * n_h, n_h, acc_h);
          for (int g = 0; g < 4; ++g) {
            const int32_t a = tq_sat16(tq_mbqm_q(acc_in[g], p->fc_multiplier[2 * g], p->fc_shift[2 * g]));
            const int32_t b = tq_sat16(tq_mbqm_q(acc_h[g], p->fc_multiplier[2 * g + 1], p->fc_shift[2 * g + 1]));
            gate[g] = tq_sat16(a + b) * 3;
          }
          const int32_t f = tq_lstm_sigmoid(gate[0], table);
          const int32_t i = tq_lstm_sigmoid(gate[1], table);
          const int32_t cg = tq_lstm_tanh(gate[2], table);
          const int32_t o = tq_lstm_sigmoid(gate[3], table);
          const int32_t kept = tq_sat16(tq_mbqm_q(f * c[u], p->forget_multiplier, p->forget_shift));
          const int32_t added = tq_sat16(tq_mbqm_q(i * cg, p->update_multiplier, p->update_shift));
          int32_t cu = tq_sat16(kept + added);
          if (p->cell_clip >= 0) cu = TQ_CLAMP(cu, -p->cell_clip, p->cell_clip);
          c[u] = (int16_t)cu;
          const int32_t th = tq_lstm_tanh((cu * p->cell_tanh_multiplier + half) >> p->cell_tanh_shift, table);
          const int32_t v = p->hidden_zero_point + tq_mbqm_q(th * o, p->hidden_multiplier, p->hidden_shift);
          y[u] = (int8_t)TQ_CLAMP(v, p->hidden_min, p->hidden_max);
        }
        memcpy(h, y, (size_t)n_h);
      }
    }
  }
}
