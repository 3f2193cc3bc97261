#include "tq_conv_2d.h"
#include "tq_window.h"

/* reference_integer_ops::ConvPerChannel, reordered for speed with the same sums.
 * TFLM adds input_offset to every input tap inside the window; since integer
 * sums are associative (mod 2^32), an output whose window lies inside the input
 * starts from acc_init = bias + input_offset * sum(w) and multiplies raw inputs.
 * Windows that cross the padding keep TFLM's form over the taps they have.
 * Each pass computes four output channels of one pixel, so every input byte
 * loaded feeds four multiply-adds; pixels stay in raster order with each
 * pixel's channels written before the next pixel's window is read, which the
 * planner's in-place rule (tinyq/plan/inplace.py) relies on.
 * The int8 kernel has no filter offset: TFLM ignores the weights' zero point
 * (the int8 spec fixes it at 0), and so do we. Per-tensor weights arrive with
 * their multiplier repeated per channel. Parameters are copied to locals
 * because int8 stores may alias *p. */

static inline int8_t tq_conv_out(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo,
                                 int32_t hi) {
  acc = tq_mbqm_q(acc, multiplier, shift) + offset;
  return (int8_t)TQ_CLAMP(acc, lo, hi);
}

typedef struct {
  int32_t a0, a1, a2, a3;
} tq_acc4_t;

/* acc.ak + sum over a window's taps of (x + x_offset) * wk: `rows` filter rows
 * of `runs` contiguous runs of `run` taps each. */
static inline tq_acc4_t tq_conv_window4(const int8_t *x_r, int32_t x_offset, const int8_t *w0, const int8_t *w1,
                                   const int8_t *w2, const int8_t *w3, int32_t rows, int32_t runs, int32_t run,
                                   int32_t x_tap_row, int32_t x_tap_col, int32_t w_skip, tq_acc4_t acc) {
  int32_t a0 = acc.a0, a1 = acc.a1, a2 = acc.a2, a3 = acc.a3;
  for (int32_t fy = 0; fy < rows; ++fy) {
    const int8_t *x = x_r;
    for (int32_t r = 0; r < runs; ++r) {
      for (int32_t i = 0; i < run; ++i) {
        const int32_t u = x[i] + x_offset;
        a0 += u * w0[i];
        a1 += u * w1[i];
        a2 += u * w2[i];
        a3 += u * w3[i];
      }
      x += x_tap_col;
      w0 += run;
      w1 += run;
      w2 += run;
      w3 += run;
    }
    x_r += x_tap_row;
    w0 += w_skip;
    w1 += w_skip;
    w2 += w_skip;
    w3 += w_skip;
  }
  acc.a0 = a0;
  acc.a1 = a1;
  acc.a2 = a2;
  acc.a3 = a3;
  return acc;
}

void tq_conv_2d_s8(const tq_conv_2d_params_t *p, const int8_t *input, const int8_t *filter,
                   const int32_t *bias, int8_t *output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d;
  const int32_t out_h = p->out_h, out_w = p->out_w, out_d = p->out_d;
  const int32_t fh = p->filter_h, fw = p->filter_w, fd = p->filter_d;
  const int32_t stride_h = p->stride_h, stride_w = p->stride_w, pad_h = p->pad_h, pad_w = p->pad_w;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
  const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
  const int32_t act_min = p->act_min, act_max = p->act_max;
  const int32_t *const multiplier = p->multiplier, *const acc_init = p->acc_init;
  const int8_t *const shift = p->shift;
  const int32_t groups = in_d / fd, per_group = out_d / groups;
  const int32_t filter_size = fh * fw * fd, filter_row = fw * fd;
  const int32_t in_row = in_w * in_d, x_tap_row = dil_h * in_row, x_tap_col = dil_w * in_d;
  /* A filter row's taps form one contiguous run of input when its columns are
   * adjacent and span every input channel; otherwise each column is a run. */
  const int32_t merged = dil_w == 1 && fd == in_d;
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
        const int32_t rows = fy1 - fy0, run = merged ? (fx1 - fx0) * fd : fd, runs = merged ? 1 : fx1 - fx0;
        const int32_t w_skip = filter_row - runs * run; /* from a row's last run to the next row */
        const int8_t *x_win = in_b + (iy0 + fy0 * dil_h) * in_row + (ix0 + fx0 * dil_w) * in_d;
        const int32_t w_win = fy0 * filter_row + fx0 * fd;
        /* A window inside the input starts from acc_init and reads raw inputs. */
        const int32_t inside = rows == fh && fx1 - fx0 == fw;
        for (int32_t g = 0; g < groups; ++g) {
          const int8_t *x_g = x_win + g * fd;
          const int32_t oc_end = (g + 1) * per_group;
          for (int32_t oc = g * per_group; oc < oc_end; oc += 4) {
            /* A tail of fewer than four channels repeats its last one. */
            const int32_t n = oc_end - oc < 4 ? oc_end - oc : 4;
            const int32_t oc1 = oc + (n > 1), oc2 = oc + (n > 2) * 2, oc3 = oc + (n > 3) * 3;
            const int8_t *w0 = filter + oc * filter_size + w_win, *w1 = filter + oc1 * filter_size + w_win;
            const int8_t *w2 = filter + oc2 * filter_size + w_win, *w3 = filter + oc3 * filter_size + w_win;
            tq_acc4_t acc = {0, 0, 0, 0};
            /* Two copies, so that the inside one adds no offset. */
            if (inside) {
              const tq_acc4_t init = {acc_init[oc], acc_init[oc1], acc_init[oc2], acc_init[oc3]};
              acc = tq_conv_window4(x_g, 0, w0, w1, w2, w3, rows, runs, run, x_tap_row, x_tap_col, w_skip, init);
            } else {
              if (bias) {
                const tq_acc4_t init = {bias[oc], bias[oc1], bias[oc2], bias[oc3]};
                acc = init;
              }
              acc = tq_conv_window4(x_g, input_offset, w0, w1, w2, w3, rows, runs, run, x_tap_row, x_tap_col,
                                    w_skip, acc);
            }
            int8_t *out = output + oc;
            out[0] = tq_conv_out(acc.a0, multiplier[oc], shift[oc], output_offset, act_min, act_max);
            if (n > 1) out[1] = tq_conv_out(acc.a1, multiplier[oc1], shift[oc1], output_offset, act_min, act_max);
            if (n > 2) out[2] = tq_conv_out(acc.a2, multiplier[oc2], shift[oc2], output_offset, act_min, act_max);
            if (n > 3) out[3] = tq_conv_out(acc.a3, multiplier[oc3], shift[oc3], output_offset, act_min, act_max);
          }
        }
        output += out_d;
      }
    }
  }
}
