#include "tq_conv_2d.h"
#include "tq_dot.h"
#include "tq_window.h"

/* reference_integer_ops::ConvPerChannel, reordered for speed with the same sums.
 * TFLM adds input_offset to every input tap inside the window; since integer
 * sums are associative (mod 2^32), an output whose window lies inside the input
 * starts from acc_init = bias + input_offset * sum(w) and multiplies raw inputs.
 * Windows that cross the padding keep TFLM's form over the taps they have.
 * The filter comes blocked (tq_dot.h): eight output channels a pass share every
 * input byte loaded. Pixels stay in raster order, each pixel's channels written
 * before the next pixel's window is read, which the planner's in-place rule
 * (tinyq/plan/inplace.py) relies on. The int8 kernel has no filter offset: TFLM
 * ignores the weights' zero point (the int8 spec fixes it at 0), and so do we.
 * Per-tensor weights arrive with their multiplier repeated per channel.
 * Parameters are copied to locals because int8 stores may alias *p. */

/* The window's taps: `rows` filter rows of `runs` contiguous runs of `run` taps;
 * a block of `lanes` channels keeps `lanes` weights per tap. */
typedef struct {
  int32_t rows, runs, run;
  int32_t x_row, x_run; /* input steps between rows and between runs */
  int32_t w_row;        /* filter taps between rows */
} tq_conv_window_t;

static inline tq_acc8_t tq_conv_block8(const tq_conv_window_t *win, const int8_t *x_r, int32_t x_offset,
                                       const int8_t *w_r, tq_acc8_t acc) {
  for (int32_t fy = 0; fy < win->rows; ++fy) {
    const int8_t *x = x_r, *w = w_r;
    for (int32_t r = 0; r < win->runs; ++r) {
      acc = tq_dot8(x, x_offset, w, win->run, acc);
      x += win->x_run;
      w += win->run * TQ_BLOCK;
    }
    x_r += win->x_row;
    w_r += win->w_row * TQ_BLOCK;
  }
  return acc;
}

static inline int32_t tq_conv_lane(const tq_conv_window_t *win, const int8_t *x_r, int32_t x_offset,
                                   const int8_t *w_r, int32_t lanes, int32_t acc) {
  for (int32_t fy = 0; fy < win->rows; ++fy) {
    const int8_t *x = x_r, *w = w_r;
    for (int32_t r = 0; r < win->runs; ++r) {
      acc = tq_dot1(x, x_offset, w, lanes, win->run, acc);
      x += win->x_run;
      w += win->run * lanes;
    }
    x_r += win->x_row;
    w_r += win->w_row * lanes;
  }
  return acc;
}

void tq_conv_2d_s8(const tq_conv_2d_params_t *p, const int8_t *input, const int8_t *filter,
                   const int32_t *bias, int8_t *output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d;
  const int32_t out_h = p->out_h, out_w = p->out_w, out_d = p->out_d;
  const int32_t fh = p->filter_h, fw = p->filter_w, fd = p->filter_d;
  const int32_t stride_h = p->stride_h, stride_w = p->stride_w, pad_h = p->pad_h, pad_w = p->pad_w;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
  const int32_t input_offset = p->input_offset;
  tq_requant_t rq = {p->multiplier, p->shift, p->output_offset, p->act_min, p->act_max};
  const int32_t *const acc_init = p->acc_init;
  const int32_t groups = in_d / fd, per_group = out_d / groups;
  const int32_t filter_size = fh * fw * fd;
  const int32_t in_row = in_w * in_d;
  /* A filter row's taps form one contiguous run of input when its columns are
   * adjacent and span every input channel; otherwise each column is a run. */
  const int32_t merged = dil_w == 1 && fd == in_d;
  tq_conv_window_t win = {0, 0, 0, dil_h * in_row, dil_w * in_d, fw * fd};
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
        win.rows = fy1 - fy0;
        win.run = merged ? (fx1 - fx0) * fd : fd;
        win.runs = merged ? 1 : fx1 - fx0;
        const int8_t *x_win = in_b + (iy0 + fy0 * dil_h) * in_row + (ix0 + fx0 * dil_w) * in_d;
        const int32_t tap0 = (fy0 * fw + fx0) * fd; /* the window's first tap in the filter */
        /* A window inside the input starts from acc_init and reads raw inputs. */
        const int32_t inside = win.rows == fh && fx1 - fx0 == fw;
        const int32_t *const start = inside ? acc_init : bias;
        const int32_t x_offset = inside ? 0 : input_offset;
        for (int32_t g = 0; g < groups; ++g) {
          const int8_t *x_g = x_win + g * fd;
          const int32_t oc_end = (g + 1) * per_group;
          int32_t oc = g * per_group;
          for (; oc + TQ_BLOCK <= oc_end; oc += TQ_BLOCK) {
            const int8_t *w = filter + oc * filter_size + tap0 * TQ_BLOCK;
            tq_acc8_t acc = tq_acc8_load(start, oc);
            /* Two copies, so that the inside one adds no offset. */
            if (inside) {
              acc = tq_conv_block8(&win, x_g, 0, w, acc);
            } else {
              acc = tq_conv_block8(&win, x_g, input_offset, w, acc);
            }
            tq_acc8_store(&rq, acc, oc, output);
          }
          const int32_t lanes = oc_end - oc; /* the group's last channels, blocked together */
          const int8_t *w = filter + oc * filter_size + tap0 * lanes;
          for (int32_t k = 0; k < lanes; ++k) {
            const int32_t acc = tq_conv_lane(&win, x_g, x_offset, w + k, lanes, start ? start[oc + k] : 0);
            output[oc + k] = tq_requant(&rq, acc, oc + k);
          }
        }
        output += out_d;
      }
    }
  }
}
