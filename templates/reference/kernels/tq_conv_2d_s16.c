#include "tq_conv_2d_s16.h"
#include "tq_window.h"

/* reference_integer_ops::ConvPerChannel for int16 input: sum filter * input over the
 * window's taps inside the image (no input offset), add the bias, requantize per channel,
 * clamp (no output offset: TFLM ignores int16 zero points here). The sums are exact in
 * int64 (products below 2^22 summed 256 at a time in int32), so their order does not
 * matter, and TFLM's int32 accumulator (an int32 bias) is that sum taken modulo 2^32.
 * Four output channels a pass share every input load; a filter row's taps form one run of
 * input when its columns are adjacent and span every input channel. Each output pixel's
 * channels are written before the next pixel's window is read (the in-place rule WINDOW). */

typedef struct {
  int32_t rows, runs, run;   /* the clipped window: rows of runs of `run` taps */
  int32_t x_row, x_run;      /* input steps between rows and between runs */
  int32_t w_row, w_run;      /* filter steps between rows and between runs */
} tq_conv_s16_window_t;

/* Adds the window's products of four filters (`stride` apart) to acc[0..3]. */
static void tq_conv_s16_block4(const tq_conv_s16_window_t *win, const int16_t *x, const int8_t *w, int32_t stride,
                               int64_t acc[4]) {
  for (int32_t r = 0; r < win->rows; ++r) {
    for (int32_t u = 0; u < win->runs; ++u) {
      const int16_t *xs = x + r * win->x_row + u * win->x_run;
      const int8_t *w0 = w + r * win->w_row + u * win->w_run;
      const int8_t *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
      for (int32_t i0 = 0; i0 < win->run; i0 += 256) {
        const int32_t i1 = i0 + 256 < win->run ? i0 + 256 : win->run;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t i = i0; i < i1; ++i) {
          const int32_t v = xs[i];
          s0 += v * w0[i];
          s1 += v * w1[i];
          s2 += v * w2[i];
          s3 += v * w3[i];
        }
        acc[0] += s0;
        acc[1] += s1;
        acc[2] += s2;
        acc[3] += s3;
      }
    }
  }
}

static int64_t tq_conv_s16_one(const tq_conv_s16_window_t *win, const int16_t *x, const int8_t *w) {
  int64_t acc = 0;
  for (int32_t r = 0; r < win->rows; ++r) {
    for (int32_t u = 0; u < win->runs; ++u) {
      acc += tq_dot_s16(x + r * win->x_row + u * win->x_run, w + r * win->w_row + u * win->w_run, win->run);
    }
  }
  return acc;
}

/* TFLM's requantization of one output: its int64 accumulator, or (`bias32` given or `wide` 0)
 * its int32 one. */
static inline int16_t tq_conv_s16_out(const tq_conv_2d_s16_params_t *p, int64_t acc, const int64_t *bias64,
                                      const int32_t *bias32, int32_t oc, int wide) {
  const int32_t v = wide
      ? tq_mbqm64((int64_t)((uint64_t)acc + (uint64_t)(bias64 ? bias64[oc] : 0)), p->multiplier[oc], p->shift[oc])
      : tq_mbqm((int32_t)((uint32_t)(uint64_t)acc + (uint32_t)(bias32 ? bias32[oc] : 0)), p->multiplier[oc],
                p->shift[oc]);
  return (int16_t)TQ_CLAMP(v, p->act_min, p->act_max);
}

static void tq_conv_2d_s16_run(const tq_conv_2d_s16_params_t *p, const int16_t *input, const int8_t *filter,
                               const int64_t *bias64, const int32_t *bias32, int16_t *output, int wide) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d;
  const int32_t out_d = p->out_d, fh = p->filter_h, fw = p->filter_w, fd = p->filter_d;
  const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
  const int32_t groups = in_d / fd, per_group = out_d / groups;
  const int32_t filter_size = fh * fw * fd, in_row = in_w * in_d;
  const int merged = dil_w == 1 && fd == in_d;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *in_b = input + b * in_h * in_row;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      const int32_t fy0 = tq_window_begin(iy0, dil_h), fy1 = tq_window_end(iy0, dil_h, in_h, fh);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int32_t fx0 = tq_window_begin(ix0, dil_w), fx1 = tq_window_end(ix0, dil_w, in_w, fw);
        const tq_conv_s16_window_t win = {fy1 - fy0, merged ? 1 : fx1 - fx0, merged ? (fx1 - fx0) * fd : fd,
                                          dil_h * in_row, dil_w * in_d, fw * fd, fd};
        const int16_t *x_win = in_b + (iy0 + fy0 * dil_h) * in_row + (ix0 + fx0 * dil_w) * in_d;
        const int32_t tap0 = (fy0 * fw + fx0) * fd;
        for (int32_t g = 0; g < groups; ++g) {
          const int16_t *x = x_win + g * fd;
          const int32_t oc_end = (g + 1) * per_group;
          int32_t oc = g * per_group;
          for (; oc + 4 <= oc_end; oc += 4) {
            int64_t acc[4] = {0, 0, 0, 0};
            tq_conv_s16_block4(&win, x, filter + oc * filter_size + tap0, filter_size, acc);
            for (int32_t k = 0; k < 4; ++k) output[oc + k] = tq_conv_s16_out(p, acc[k], bias64, bias32, oc + k, wide);
          }
          for (; oc < oc_end; ++oc) {
            const int64_t acc = tq_conv_s16_one(&win, x, filter + oc * filter_size + tap0);
            output[oc] = tq_conv_s16_out(p, acc, bias64, bias32, oc, wide);
          }
        }
        output += out_d;
      }
    }
  }
}

void tq_conv_2d_s16(const tq_conv_2d_s16_params_t *p, const int16_t *input, const int8_t *filter,
                    const int64_t *bias, int16_t *output) {
  tq_conv_2d_s16_run(p, input, filter, bias, NULL, output, 1);
}

void tq_conv_2d_s16_acc32(const tq_conv_2d_s16_params_t *p, const int16_t *input, const int8_t *filter,
                          const int32_t *bias, int16_t *output) {
  tq_conv_2d_s16_run(p, input, filter, NULL, bias, output, 0);
}
