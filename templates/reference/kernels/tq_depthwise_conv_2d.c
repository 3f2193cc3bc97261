#include "tq_depthwise_conv_2d.h"
#include "tq_window.h"

/* reference_integer_ops::DepthwiseConvPerChannel, reordered for speed with the
 * same sums. Like conv: a window inside the input starts from acc_init = bias +
 * input_offset * sum(w) and multiplies raw inputs (the sums wrap mod 2^32 either
 * way); a window crossing the padding keeps TFLM's form over the taps it has.
 * With multiplier 1, eight adjacent channels go together, so each tap's loads
 * are eight bytes at fixed offsets. Channels are processed in increasing order and
 * each is written after its own taps are read, which the planner's in-place rule
 * (tinyq/plan/inplace.py) relies on. No filter offset (TFLM ignores the int8
 * weights' zero point). Parameters are copied to locals because int8 stores may
 * alias *p. */

typedef struct {
  int32_t a0, a1, a2, a3, a4, a5, a6, a7;
} tq_dw_acc8_t;

/* acc.ak + the window's sum of (x[k] + x_offset) * w[k], for eight adjacent channels. */
static inline tq_dw_acc8_t tq_dw_window8(const int8_t *x_r, int32_t x_offset, const int8_t *w_r, int32_t rows,
                                         int32_t cols, int32_t x_tap_row, int32_t x_tap_col, int32_t w_row,
                                         int32_t w_col, tq_dw_acc8_t acc) {
  int32_t a0 = acc.a0, a1 = acc.a1, a2 = acc.a2, a3 = acc.a3, a4 = acc.a4, a5 = acc.a5, a6 = acc.a6, a7 = acc.a7;
  for (int32_t fy = 0; fy < rows; ++fy) {
    const int8_t *x = x_r, *w = w_r;
    for (int32_t fx = 0; fx < cols; ++fx) {
      a0 = tq_wrap_add(a0, (x[0] + x_offset) * w[0]);
      a1 = tq_wrap_add(a1, (x[1] + x_offset) * w[1]);
      a2 = tq_wrap_add(a2, (x[2] + x_offset) * w[2]);
      a3 = tq_wrap_add(a3, (x[3] + x_offset) * w[3]);
      a4 = tq_wrap_add(a4, (x[4] + x_offset) * w[4]);
      a5 = tq_wrap_add(a5, (x[5] + x_offset) * w[5]);
      a6 = tq_wrap_add(a6, (x[6] + x_offset) * w[6]);
      a7 = tq_wrap_add(a7, (x[7] + x_offset) * w[7]);
      x += x_tap_col;
      w += w_col;
    }
    x_r += x_tap_row;
    w_r += w_row;
  }
  acc.a0 = a0;
  acc.a1 = a1;
  acc.a2 = a2;
  acc.a3 = a3;
  acc.a4 = a4;
  acc.a5 = a5;
  acc.a6 = a6;
  acc.a7 = a7;
  return acc;
}

/* The same for one channel. */
static inline int32_t tq_dw_window1(const int8_t *x_r, int32_t x_offset, const int8_t *w_r, int32_t rows,
                                    int32_t cols, int32_t x_tap_row, int32_t x_tap_col, int32_t w_row,
                                    int32_t w_col, int32_t acc) {
  for (int32_t fy = 0; fy < rows; ++fy) {
    const int8_t *x = x_r, *w = w_r;
    for (int32_t fx = 0; fx < cols; ++fx) {
      acc = tq_wrap_add(acc, (*x + x_offset) * *w);
      x += x_tap_col;
      w += w_col;
    }
    x_r += x_tap_row;
    w_r += w_row;
  }
  return acc;
}

static inline int8_t tq_dw_out(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo,
                               int32_t hi) {
  acc = tq_wrap_add(tq_mbqm_q(acc, multiplier, shift), offset);
  if (acc < lo) acc = lo;
  if (acc > hi) acc = hi;
  return (int8_t)acc;
}

void tq_depthwise_conv_2d_s8(const tq_depthwise_conv_2d_params_t *p, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d, dm = p->depth_multiplier;
  const int32_t out_h = p->out_h, out_w = p->out_w, out_d = in_d * dm;
  const int32_t fh = p->filter_h, fw = p->filter_w;
  const int32_t stride_h = p->stride_h, stride_w = p->stride_w, pad_h = p->pad_h, pad_w = p->pad_w;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
  const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  const int32_t *const multiplier = p->multiplier, *const acc_init = p->acc_init;
  const int8_t *const shift = p->shift;
  const int32_t in_row = in_w * in_d, x_tap_row = dil_h * in_row, x_tap_col = dil_w * in_d;
  const int32_t w_row = fw * out_d;
  /* Eight channels at a time only with multiplier 1 (each output reads its own input channel). */
  const int32_t octets = dm == 1 ? out_d & ~7 : 0;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_row;
    for (int32_t oy = 0; oy < out_h; ++oy) {
      const int32_t iy0 = oy * stride_h - pad_h;
      const int32_t fy0 = tq_window_begin(iy0, dil_h);
      const int32_t fy1 = tq_window_end(iy0, dil_h, in_h, fh);
      for (int32_t ox = 0; ox < out_w; ++ox) {
        const int32_t ix0 = ox * stride_w - pad_w;
        const int32_t fx0 = tq_window_begin(ix0, dil_w);
        const int32_t fx1 = tq_window_end(ix0, dil_w, in_w, fw);
        const int32_t rows = fy1 - fy0, cols = fx1 - fx0;
        const int8_t *x_win = in_b + (iy0 + fy0 * dil_h) * in_row + (ix0 + fx0 * dil_w) * in_d;
        const int8_t *w_win = filter + (fy0 * fw + fx0) * out_d;
        const int32_t inside = rows == fh && cols == fw;
        int32_t oc = 0;
        for (; oc < octets; oc += 8) {
          tq_dw_acc8_t acc = {0, 0, 0, 0, 0, 0, 0, 0};
          const int32_t *const start = inside ? acc_init : bias;
          if (start) {
            const tq_dw_acc8_t init = {start[oc],     start[oc + 1], start[oc + 2], start[oc + 3],
                                       start[oc + 4], start[oc + 5], start[oc + 6], start[oc + 7]};
            acc = init;
          }
          /* Two copies, so that the inside one adds no offset. */
          if (inside) {
            acc = tq_dw_window8(x_win + oc, 0, w_win + oc, rows, cols, x_tap_row, x_tap_col, w_row, out_d, acc);
          } else {
            acc = tq_dw_window8(x_win + oc, input_offset, w_win + oc, rows, cols, x_tap_row, x_tap_col, w_row,
                                out_d, acc);
          }
          output[oc] = tq_dw_out(acc.a0, multiplier[oc], shift[oc], output_offset, act_min, act_max);
          output[oc + 1] = tq_dw_out(acc.a1, multiplier[oc + 1], shift[oc + 1], output_offset, act_min, act_max);
          output[oc + 2] = tq_dw_out(acc.a2, multiplier[oc + 2], shift[oc + 2], output_offset, act_min, act_max);
          output[oc + 3] = tq_dw_out(acc.a3, multiplier[oc + 3], shift[oc + 3], output_offset, act_min, act_max);
          output[oc + 4] = tq_dw_out(acc.a4, multiplier[oc + 4], shift[oc + 4], output_offset, act_min, act_max);
          output[oc + 5] = tq_dw_out(acc.a5, multiplier[oc + 5], shift[oc + 5], output_offset, act_min, act_max);
          output[oc + 6] = tq_dw_out(acc.a6, multiplier[oc + 6], shift[oc + 6], output_offset, act_min, act_max);
          output[oc + 7] = tq_dw_out(acc.a7, multiplier[oc + 7], shift[oc + 7], output_offset, act_min, act_max);
        }
        for (; oc < out_d; ++oc) {
          const int8_t *x = x_win + oc / dm;
          int32_t acc;
          if (inside) {
            acc = tq_dw_window1(x, 0, w_win + oc, rows, cols, x_tap_row, x_tap_col, w_row, out_d, acc_init[oc]);
          } else {
            acc = tq_dw_window1(x, input_offset, w_win + oc, rows, cols, x_tap_row, x_tap_col, w_row, out_d,
                                bias ? bias[oc] : 0);
          }
          output[oc] = tq_dw_out(acc, multiplier[oc], shift[oc], output_offset, act_min, act_max);
        }
        output += out_d;
      }
    }
  }
}
