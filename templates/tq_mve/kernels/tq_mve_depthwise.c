/* See tq_mve_depthwise.h. */
#include "tq_mve_depthwise.h"
#include "tq_common.h"

#include <string.h>

/* 3x3 windows over at most this many channels take the fast path (a stack row of zero points) */
#define TQ_MVE_DW_FAST_MAX_CH 256

/* output offset, activation minimum and maximum, 4 lanes each */
static void tq_mve_dw_bounds(const tq_mve_dw_params *p, int32_t *bounds) {
  for (int i = 0; i < 4; i++) {
    bounds[i] = p->output_offset;
    bounds[4 + i] = p->act_min;
    bounds[8 + i] = p->act_max;
  }
  bounds[12] = p->right_shift_only;
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* 16 channels as int8 lanes: vmullb/vmullt give the even and odd channels' int16
 * products, vmovlb/vmovlt widen each to int32, so four accumulators hold the
 * channels {0,4,8,12}, {2,6,10,14}, {1,5,9,13}, {3,7,11,15}. A group record:
 * per tap 16 weights, then bias, multiplier, left shift and right shift, each
 * as 4 vectors in accumulator order. */
typedef struct {
  int32x4_t a[4];
} tq_mve_dw_acc;

static inline void tq_mve_dw_mac(tq_mve_dw_acc *acc, int8x16_t x, int8x16_t k) {
  const int16x8_t even = vmullbq_int_s8(x, k), odd = vmulltq_int_s8(x, k);
  acc->a[0] = vaddq_s32(acc->a[0], vmovlbq_s16(even));
  acc->a[1] = vaddq_s32(acc->a[1], vmovltq_s16(even));
  acc->a[2] = vaddq_s32(acc->a[2], vmovlbq_s16(odd));
  acc->a[3] = vaddq_s32(acc->a[3], vmovltq_s16(odd));
}

#define TQ_MVE_DW_REQUANTIZE(acc, k)                   \
  "vldrw.32 q0, [%[q], #(128 + 16 * " #k ")]\n\t"      \
  "vshl.s32 %q[" acc "], %q[" acc "], q0\n\t"          \
  "vldrw.32 q0, [%[q], #(64 + 16 * " #k ")]\n\t"       \
  "vqrdmulh.s32 %q[" acc "], %q[" acc "], q0\n\t"      \
  "vldrw.32 q0, [%[q], #(192 + 16 * " #k ")]\n\t"      \
  "vand q1, %q[" acc "], q0\n\t"                       \
  "vshr.s32 q1, q1, #31\n\t"                           \
  "vqadd.s32 %q[" acc "], %q[" acc "], q1\n\t"         \
  "vrshl.s32 %q[" acc "], %q[" acc "], q0\n\t"

/* The same where every channel shifts right (no left shift; the rounding step
 * always applies): 6 instructions and 3 ALU operations where the general one
 * takes 9 and 5. */
#define TQ_MVE_DW_REQUANTIZE_RIGHT(acc, k)             \
  "vldrw.32 q0, [%[q], #(64 + 16 * " #k ")]\n\t"       \
  "vqrdmulh.s32 %q[" acc "], %q[" acc "], q0\n\t"      \
  "vldrw.32 q0, [%[q], #(192 + 16 * " #k ")]\n\t"      \
  "vshr.s32 q1, %q[" acc "], #31\n\t"                 \
  "vqadd.s32 %q[" acc "], %q[" acc "], q1\n\t"         \
  "vrshl.s32 %q[" acc "], %q[" acc "], q0\n\t"

#define TQ_MVE_DW_BOUND(op, offset)                                        \
  "vldrw.32 q0, [%[bounds], #" #offset "]\n\t"                             \
  op " %q[a0], %q[a0], q0\n\t" op " %q[a1], %q[a1], q0\n\t"              \
  op " %q[a2], %q[a2], q0\n\t" op " %q[a3], %q[a3], q0\n\t"

/* Requantize the four accumulators (TFLM's double rounding: vrshl rounds half
 * up, so negative values step down by one first to round half away from zero)
 * with the group's multiplier, left and right shift vectors at q + 16, q + 32,
 * q + 48 words; add the output offset, clamp (bounds: offset, minimum, maximum
 * vectors) and narrow back into channel order: the result's 16 bytes. */
#define TQ_MVE_DW_FINISH(name, requantize)                                                                  \
  __attribute__((always_inline)) static inline int8x16_t name(                                               \
      int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3, const int32_t *q, const int32_t *bounds) {     \
    __asm volatile(requantize("a0", 0) requantize("a1", 1) requantize("a2", 2) requantize("a3", 3)           \
                   TQ_MVE_DW_BOUND("vadd.i32", 0) TQ_MVE_DW_BOUND("vmax.s32", 16)                              \
                   TQ_MVE_DW_BOUND("vmin.s32", 32) /* int32 lanes hold int8 values: narrow them back */      \
                   "vmovnt.i32 %q[a0], %q[a1]\n\t" /* channels 0, 2, 4, ..., 14 */                            \
                   "vmovnt.i32 %q[a2], %q[a3]\n\t" /* channels 1, 3, 5, ..., 15 */                            \
                   "vmovnt.i16 %q[a0], %q[a2]\n\t"                                                            \
                   : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3)                               \
                   : [q] "r"(q), [bounds] "r"(bounds)                                                         \
                   : "q0", "q1", "memory");                                                                   \
    return vreinterpretq_s8_s32(a0);                                                                          \
  }
TQ_MVE_DW_FINISH(tq_mve_dw_finish_any, TQ_MVE_DW_REQUANTIZE)
TQ_MVE_DW_FINISH(tq_mve_dw_finish_right, TQ_MVE_DW_REQUANTIZE_RIGHT)

__attribute__((always_inline)) static inline int8x16_t tq_mve_dw_finish(int32x4_t a0, int32x4_t a1, int32x4_t a2,
                                                                        int32x4_t a3, const int32_t *q,
                                                                        const int32_t *bounds) {
  return bounds[12] ? tq_mve_dw_finish_right(a0, a1, a2, a3, q, bounds)
                    : tq_mve_dw_finish_any(a0, a1, a2, a3, q, bounds);
}

/* One output pixel: `valid` taps read input + offsets[i] (weights of tap index[i]),
 * `missing` taps (outside the input) count as the zero point. */
static void tq_mve_dw_pixel(const tq_mve_dw_params *p, const int8_t *input, const int32_t *offsets,
                            const int32_t *index, int32_t valid, const int32_t *missing, int32_t n_missing,
                            const int32_t *packed, int8_t *out, const int32_t *bounds) {
  const int32_t taps = p->filter_h * p->filter_w, channels = p->channels;
  const int8x16_t zero = vdupq_n_s8((int8_t)-p->input_offset);
  for (int32_t c = 0; c < channels; c += 16, packed += 4 * taps + 64, input += 16, out += 16) {
    const int8_t *w = (const int8_t *)(const void *)packed;
    const int32_t *q = packed + 4 * taps;
    const mve_pred16_t live = vctp8q((uint32_t)(channels - c));
    tq_mve_dw_acc acc = {{vldrwq_s32(q), vldrwq_s32(q + 4), vldrwq_s32(q + 8), vldrwq_s32(q + 12)}};
    for (int32_t i = 0; i < valid; i++)
      tq_mve_dw_mac(&acc, vldrbq_z_s8(input + offsets[i], live), vldrbq_s8(w + 16 * index[i]));
    for (int32_t i = 0; i < n_missing; i++) tq_mve_dw_mac(&acc, zero, vldrbq_s8(w + 16 * missing[i]));
    vstrbq_p_s8(out, tq_mve_dw_finish(acc.a[0], acc.a[1], acc.a[2], acc.a[3], q, bounds), live);
  }
}

/* tap t's 16 input bytes, its 16 weights at `weights` (an addressing mode) */
#define TQ_MVE_DW_TAP(t, weights)                         \
  "vldrb.8 q0, [%[t" #t "]], #16\n\t"                     \
  "vldrb.8 q1, " weights "\n\t"                           \
  "vmullb.s8 q2, q0, q1\n\t"                              \
  "vmullt.s8 q3, q0, q1\n\t"                              \
  "vmovlb.s16 q0, q2\n\t"                                 \
  "vadd.i32 %q[a0], %q[a0], q0\n\t"                       \
  "vmovlt.s16 q0, q2\n\t"                                 \
  "vadd.i32 %q[a1], %q[a1], q0\n\t"                       \
  "vmovlb.s16 q0, q3\n\t"                                 \
  "vadd.i32 %q[a2], %q[a2], q0\n\t"                       \
  "vmovlt.s16 q0, q3\n\t"                                 \
  "vadd.i32 %q[a3], %q[a3], q0\n\t"

/* A 3x3 window over channels a multiple of 16: nine pointers walk the taps
 * (written out: the compiler spills them otherwise); a tap outside the input
 * points at a row of zero points. */
__attribute__((noinline)) /* the taps want ten registers */
static void tq_mve_dw_pixel_3x3(const tq_mve_dw_params *p, const int8_t *const *tap, const int32_t *packed,
                                int8_t *out, const int32_t *bounds) {
  const int8_t *t0 = tap[0], *t1 = tap[1], *t2 = tap[2], *t3 = tap[3], *t4 = tap[4], *t5 = tap[5];
  const int8_t *t6 = tap[6], *t7 = tap[7], *t8 = tap[8];
  for (int32_t groups = p->channels >> 4; groups > 0; groups--, packed += 4 * 9 + 64, out += 16) {
    const int8_t *w = (const int8_t *)(const void *)packed;
    const int32_t *q = packed + 4 * 9;
    int32x4_t a0 = vldrwq_s32(q), a1 = vldrwq_s32(q + 4), a2 = vldrwq_s32(q + 8), a3 = vldrwq_s32(q + 12);
    /* immediate offsets reach 127 bytes: tap 7's load moves the weight pointer on */
    __asm volatile(TQ_MVE_DW_TAP(0, "[%[w]]") TQ_MVE_DW_TAP(1, "[%[w], #16]") TQ_MVE_DW_TAP(2, "[%[w], #32]")
                   TQ_MVE_DW_TAP(3, "[%[w], #48]") TQ_MVE_DW_TAP(4, "[%[w], #64]") TQ_MVE_DW_TAP(5, "[%[w], #80]")
                   TQ_MVE_DW_TAP(6, "[%[w], #96]") TQ_MVE_DW_TAP(7, "[%[w], #112]!") TQ_MVE_DW_TAP(8, "[%[w], #16]")
                   : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [t0] "+r"(t0), [t1] "+r"(t1),
                     [t2] "+r"(t2), [t3] "+r"(t3), [t4] "+r"(t4), [t5] "+r"(t5), [t6] "+r"(t6), [t7] "+r"(t7),
                     [t8] "+r"(t8), [w] "+r"(w)
                   :
                   : "q0", "q1", "q2", "q3", "memory");
    vstrbq_s8(out, tq_mve_dw_finish(a0, a1, a2, a3, q, bounds));
  }
}

/* Taps a and b together: each product fits int16 and so does the sum of two
 * (|x * w| <= 128 * 127 when no weight is -128: tinyq sets paired_taps only then),
 * so the even and odd products of both taps are added as int16 and widened
 * once: 21 instructions and 10 ALU operations for two taps where single taps
 * take 24 and 16. vmullt may overwrite its own operand at 8-bit size; tap b's
 * weights are loaded again for its even products. */
#define TQ_MVE_DW_PAIR(a, b, wa, wb)                      \
  "vldrb.8 q0, [%[t" #a "]], #16\n\t"                     \
  "vldrb.8 q1, " wa "\n\t"                                \
  "vmullb.s8 q2, q0, q1\n\t"                              \
  "vmullt.s8 q3, q0, q1\n\t"                              \
  "vldrb.8 q0, [%[t" #b "]], #16\n\t"                     \
  "vldrb.8 q1, " wb "\n\t"                                \
  "vmullt.s8 q1, q0, q1\n\t"                              \
  "vadd.i16 q3, q3, q1\n\t"                               \
  "vldrb.8 q1, " wb "\n\t"                                \
  "vmullb.s8 q0, q0, q1\n\t"                              \
  "vadd.i16 q2, q2, q0\n\t"                               \
  "vmovlb.s16 q0, q2\n\t"                                 \
  "vadd.i32 %q[a0], %q[a0], q0\n\t"                       \
  "vmovlt.s16 q0, q2\n\t"                                 \
  "vadd.i32 %q[a1], %q[a1], q0\n\t"                       \
  "vmovlb.s16 q0, q3\n\t"                                 \
  "vadd.i32 %q[a2], %q[a2], q0\n\t"                       \
  "vmovlt.s16 q0, q3\n\t"                                 \
  "vadd.i32 %q[a3], %q[a3], q0\n\t"

/* tq_mve_dw_pixel_3x3 with taps (0,1), (2,3), (4,5), (6,7) in pairs, then tap 8 */
__attribute__((noinline)) static void tq_mve_dw_pixel_3x3_pairs(const tq_mve_dw_params *p, const int8_t *const *tap,
                                                                const int32_t *packed, int8_t *out,
                                                                const int32_t *bounds) {
  const int8_t *t0 = tap[0], *t1 = tap[1], *t2 = tap[2], *t3 = tap[3], *t4 = tap[4], *t5 = tap[5];
  const int8_t *t6 = tap[6], *t7 = tap[7], *t8 = tap[8];
  for (int32_t groups = p->channels >> 4; groups > 0; groups--, packed += 4 * 9 + 64, out += 16) {
    const int8_t *w = (const int8_t *)(const void *)packed;
    const int32_t *q = packed + 4 * 9;
    int32x4_t a0 = vldrwq_s32(q), a1 = vldrwq_s32(q + 4), a2 = vldrwq_s32(q + 8), a3 = vldrwq_s32(q + 12);
    /* immediate offsets reach 127 bytes: tap 8's weights are read from w moved on by 128 */
    __asm volatile(TQ_MVE_DW_PAIR(0, 1, "[%[w]]", "[%[w], #16]") TQ_MVE_DW_PAIR(2, 3, "[%[w], #32]", "[%[w], #48]")
                   TQ_MVE_DW_PAIR(4, 5, "[%[w], #64]", "[%[w], #80]")
                   TQ_MVE_DW_PAIR(6, 7, "[%[w], #96]", "[%[w], #112]")
                   "add %[w], %[w], #128\n\t"
                   TQ_MVE_DW_TAP(8, "[%[w]]")
                   : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [t0] "+r"(t0), [t1] "+r"(t1),
                     [t2] "+r"(t2), [t3] "+r"(t3), [t4] "+r"(t4), [t5] "+r"(t5), [t6] "+r"(t6), [t7] "+r"(t7),
                     [t8] "+r"(t8), [w] "+r"(w)
                   :
                   : "q0", "q1", "q2", "q3", "memory", "cc");
    vstrbq_s8(out, tq_mve_dw_finish(a0, a1, a2, a3, q, bounds));
  }
}

#define TQ_MVE_DW_FAST_3X3(p) \
  ((p)->filter_h == 3 && (p)->filter_w == 3 && (p)->channels % 16 == 0 && (p)->channels <= TQ_MVE_DW_FAST_MAX_CH)

static void tq_mve_dw_3x3(const tq_mve_dw_params *p, const int8_t *input, const int32_t *packed, int8_t *output) {
  const int32_t channels = p->channels;
  int8_t zeros[TQ_MVE_DW_FAST_MAX_CH];
  const int8_t *tap[9];
  int32_t bounds[13]; /* output offset, minimum, maximum (4 lanes each), right_shift_only */
  tq_mve_dw_bounds(p, bounds);
  int32_t step[9]; /* a window inside the input: each tap's distance from the window's first */
  void (*const pixel)(const tq_mve_dw_params *, const int8_t *const *, const int32_t *, int8_t *, const int32_t *) =
      p->paired_taps ? tq_mve_dw_pixel_3x3_pairs : tq_mve_dw_pixel_3x3;
  memset(zeros, (int8_t)-p->input_offset, (size_t)channels);
  for (int32_t ky = 0, t = 0; ky < 3; ky++)
    for (int32_t kx = 0; kx < 3; kx++, t++) step[t] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * channels;
  const int32_t x_span = 2 * p->dilation_w, y_span = 2 * p->dilation_h;
  for (int32_t b = 0; b < p->batches; b++) {
    for (int32_t oy = 0; oy < p->out_h; oy++) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int rows_inside = y0 >= 0 && y0 + y_span < p->in_h;
      for (int32_t ox = 0; ox < p->out_w; ox++, output += channels) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        if (rows_inside && x0 >= 0 && x0 + x_span < p->in_w) {
          const int8_t *origin = input + ((b * p->in_h + y0) * p->in_w + x0) * channels;
          for (int32_t t = 0; t < 9; t++) tap[t] = origin + step[t];
          pixel(p, tap, packed, output, bounds);
          continue;
        }
        for (int32_t ky = 0, t = 0; ky < 3; ky++) {
          const int32_t y = y0 + ky * p->dilation_h;
          const int8_t *line = input + (b * p->in_h + y) * p->in_w * channels;
          for (int32_t kx = 0; kx < 3; kx++, t++) {
            const int32_t x = x0 + kx * p->dilation_w;
            tap[t] = (y < 0 || y >= p->in_h || x < 0 || x >= p->in_w) ? zeros : line + x * channels;
          }
        }
        pixel(p, tap, packed, output, bounds);
      }
    }
  }
}

#else /* plain C: the same records, for builds without Helium */

static int32_t tq_mve_dw_requantize1(int32_t acc, int32_t mult, int32_t lsh, int32_t rsh) {
  return tq_rdbpot(tq_srdhm((int32_t)((uint32_t)acc << lsh), mult), -rsh);
}

static void tq_mve_dw_pixel(const tq_mve_dw_params *p, const int8_t *input, const int32_t *offsets,
                            const int32_t *index, int32_t valid, const int32_t *missing, int32_t n_missing,
                            const int32_t *packed, int8_t *out, const int32_t *bounds) {
  (void)bounds;
  static const int8_t lane_of[16] = {0, 8, 4, 12, 1, 9, 5, 13, 2, 10, 6, 14, 3, 11, 7, 15};
  const int32_t taps = p->filter_h * p->filter_w, channels = p->channels;
  for (int32_t c = 0; c < channels; c += 16, packed += 4 * taps + 64) {
    const int8_t *w = (const int8_t *)(const void *)packed;
    const int32_t *q = packed + 4 * taps;
    for (int32_t j = 0; j < 16 && c + j < channels; j++) {
      const int32_t lane = lane_of[j]; /* accumulator order: {0,4,8,12}, {2,6,10,14}, {1,5,9,13}, {3,7,11,15} */
      int32_t acc = q[lane];
      for (int32_t i = 0; i < valid; i++) acc += input[offsets[i] + c + j] * w[16 * index[i] + j];
      for (int32_t i = 0; i < n_missing; i++) acc += -p->input_offset * w[16 * missing[i] + j];
      acc = tq_mve_dw_requantize1(acc, q[16 + lane], q[32 + lane], q[48 + lane]) + p->output_offset;
      out[c + j] = (int8_t)(acc < p->act_min ? p->act_min : acc > p->act_max ? p->act_max : acc);
    }
  }
}

#define TQ_MVE_DW_FAST_3X3(p) 0
#define tq_mve_dw_3x3(p, input, packed, output) ((void)0)

#endif

void tq_mve_depthwise_s8(const tq_mve_dw_params *p, const int8_t *input, const int32_t *packed, int8_t *output) {
  const int32_t channels = p->channels;
  int32_t offsets[TQ_MVE_DW_MAX_TAPS], index[TQ_MVE_DW_MAX_TAPS], missing[TQ_MVE_DW_MAX_TAPS];
  int32_t bounds[13]; /* output offset, minimum, maximum (4 lanes each), right_shift_only */
  tq_mve_dw_bounds(p, bounds);
  if (TQ_MVE_DW_FAST_3X3(p)) {
    tq_mve_dw_3x3(p, input, packed, output);
    return;
  }
  for (int32_t b = 0; b < p->batches; b++) {
    for (int32_t oy = 0; oy < p->out_h; oy++) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ox++, output += channels) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int8_t *origin = input + ((b * p->in_h + y0) * p->in_w + x0) * channels;
        int32_t valid = 0, n_missing = 0, t = 0;
        for (int32_t ky = 0; ky < p->filter_h; ky++) {
          const int32_t y = y0 + ky * p->dilation_h;
          for (int32_t kx = 0; kx < p->filter_w; kx++, t++) {
            const int32_t x = x0 + kx * p->dilation_w;
            if (y < 0 || y >= p->in_h || x < 0 || x >= p->in_w) {
              missing[n_missing++] = t;
            } else {
              offsets[valid] = (ky * p->dilation_h * p->in_w + kx * p->dilation_w) * channels;
              index[valid++] = t;
            }
          }
        }
        tq_mve_dw_pixel(p, origin, offsets, index, valid, missing, n_missing, packed, output, bounds);
      }
    }
  }
}
