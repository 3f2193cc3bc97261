/* See tq_mve_conv.h. */
#include "tq_mve_conv.h"
#include "tq_common.h"

#include <string.h>

/* per quad, after its weights: bias, multiplier, left shift, right shift, 4 words each */
#define TQ_MVE_QUAD_WORDS 16

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* One 16-byte chunk of two rows against four channels: 2 row loads, 4 weight
 * loads (one pointer, immediate offsets), 8 dot products, loads placed between
 * dot products so the load/store and multiply units overlap (docs/cycles.md).
 * The accumulators must sit in even registers ("Te"), which is why the loop is
 * written out. */
#define TQ_MVE_STEP(op)                                  \
  "vldrb.8 q0, [%[x0]], #16\n\t"                         \
  "vldrb.8 q3, [%[w]], #64\n\t"                          \
  op " %[a0], q0, q3\n\t"                                \
  "vldrb.8 q1, [%[x1]], #16\n\t"                         \
  op " %[b0], q1, q3\n\t"                                \
  "vldrb.8 q2, [%[w], #-48]\n\t"                         \
  op " %[a1], q0, q2\n\t"                                \
  "vldrb.8 q3, [%[w], #-32]\n\t"                         \
  op " %[b1], q1, q2\n\t"                                \
  "vldrb.8 q2, [%[w], #-16]\n\t"                         \
  op " %[a2], q0, q3\n\t" op " %[b2], q1, q3\n\t"        \
  op " %[a3], q0, q2\n\t" op " %[b3], q1, q2\n\t"

/* One 16-byte chunk of one row against four channels: 1 row load, 4 weight
 * loads, 4 dot products (a lone row: a batch-1 fully connected layer, the
 * last pixel of an odd count), loads and dot products alternating so the
 * load/store and multiply units overlap (docs/cycles.md). */
#define TQ_MVE_STEP1(op)                                 \
  "vldrb.8 q0, [%[x0]], #16\n\t"                         \
  "vldrb.8 q1, [%[w]], #64\n\t"                          \
  op " %[a0], q0, q1\n\t"                                \
  "vldrb.8 q2, [%[w], #-48]\n\t"                         \
  op " %[a1], q0, q2\n\t"                                \
  "vldrb.8 q3, [%[w], #-32]\n\t"                         \
  op " %[a2], q0, q3\n\t"                                \
  "vldrb.8 q1, [%[w], #-16]\n\t"                         \
  op " %[a3], q0, q1\n\t"

/* Where a row's chunks lie: `segments` runs of `chunks` contiguous chunks,
 * `skip` bytes apart (an im2col row: one run; a 3x3 window read in place:
 * three runs, one per window row, an input row apart). */
typedef struct {
  int32_t segments, chunks, skip;
} tq_mve_rows;

/* Dot products of rows x0, x1 (chunks * 16 contiguous bytes each) with one
 * quad of packed channels at w; leaves w after the quad's weights, at its
 * per-channel words. */
static inline void tq_mve_dot_2x4(const int8_t *x0, const int8_t *x1, const int8_t **w, int32_t chunks,
                                  int32x4_t *row0, int32x4_t *row1) {
  int32_t a0, a1, a2, a3, b0, b1, b2, b3;
  int32_t n = chunks - 1;
  const int8_t *wp = *w;
  int32x4_t va, vb;
  __asm volatile(TQ_MVE_STEP("vmladav.s8")
                 "lsrs %[n], %[n], #1\n\t" /* pairs of chunks left; carry: one more single */
                 "bcc 2f\n\t"
                 TQ_MVE_STEP("vmladava.s8")
                 "2:\n\t"
                 "beq 3f\n\t" /* flags still from lsrs: vector instructions leave them */
                 "1:\n\t"
                 TQ_MVE_STEP("vmladava.s8") TQ_MVE_STEP("vmladava.s8")
                 "subs %[n], %[n], #1\n\t"
                 "bne 1b\n\t"
                 "3:\n\t"
                 "vmov %q[va][2], %q[va][0], %[a0], %[a2]\n\t"
                 "vmov %q[va][3], %q[va][1], %[a1], %[a3]\n\t"
                 "vmov %q[vb][2], %q[vb][0], %[b0], %[b2]\n\t"
                 "vmov %q[vb][3], %q[vb][1], %[b1], %[b3]\n\t"
                 : [va] "=w"(va), [vb] "=w"(vb), [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2),
                   [a3] "=&Te"(a3), [b0] "=&Te"(b0), [b1] "=&Te"(b1), [b2] "=&Te"(b2), [b3] "=&Te"(b3),
                   [x0] "+r"(x0), [x1] "+r"(x1), [w] "+r"(wp), [n] "+r"(n)
                 :
                 : "q0", "q1", "q2", "q3", "memory", "cc");
  *w = wp;
  *row0 = va;
  *row1 = vb;
}

/* Dot products of row x0 (chunks * 16 contiguous bytes) with one quad of
 * packed channels at w; leaves w at the quad's per-channel words. */
static inline int32x4_t tq_mve_dot_1x4(const int8_t *x0, const int8_t **w, int32_t chunks) {
  int32_t a0, a1, a2, a3;
  int32_t n = chunks - 1;
  const int8_t *wp = *w;
  int32x4_t va;
  __asm volatile(TQ_MVE_STEP1("vmladav.s8")
                 "lsrs %[n], %[n], #1\n\t" /* pairs of chunks left; carry: one more single */
                 "bcc 2f\n\t"
                 TQ_MVE_STEP1("vmladava.s8")
                 "2:\n\t"
                 "beq 3f\n\t" /* flags still from lsrs: vector instructions leave them */
                 "1:\n\t"
                 TQ_MVE_STEP1("vmladava.s8") TQ_MVE_STEP1("vmladava.s8")
                 "subs %[n], %[n], #1\n\t"
                 "bne 1b\n\t"
                 "3:\n\t"
                 "vmov %q[va][2], %q[va][0], %[a0], %[a2]\n\t"
                 "vmov %q[va][3], %q[va][1], %[a1], %[a3]\n\t"
                 : [va] "=w"(va), [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3),
                   [x0] "+r"(x0), [w] "+r"(wp), [n] "+r"(n)
                 :
                 : "q0", "q1", "q2", "q3", "memory", "cc");
  *w = wp;
  return va;
}

/* The same over rows in runs; the run counts live in memory: the accumulators,
 * pointers and counter take every other register. */
__attribute__((always_inline)) static inline void tq_mve_dot_2x4_runs(const int8_t *x0, const int8_t *x1,
                                                                       const int8_t **w, const tq_mve_rows *rows,
                                                                       int32x4_t *row0, int32x4_t *row1) {
  int32_t a0, a1, a2, a3, b0, b1, b2, b3, n;
  int32_t segments = rows->segments;
  const int32_t chunks = rows->chunks, skip = rows->skip;
  const int8_t *wp = *w;
  int32x4_t va, vb;
  __asm volatile(TQ_MVE_STEP("vmladav.s8")
                 "ldr %[n], %[chunks]\n\t"
                 "subs %[n], %[n], #1\n\t"
                 "b 4f\n\t"
                 "5:\n\t" /* the next run */
                 "ldr %[n], %[skip]\n\t"
                 "add %[x0], %[x0], %[n]\n\t"
                 "add %[x1], %[x1], %[n]\n\t"
                 "ldr %[n], %[chunks]\n\t"
                 "4:\n\t"
                 "lsrs %[n], %[n], #1\n\t" /* pairs of chunks left; carry: one more single */
                 "bcc 2f\n\t"
                 TQ_MVE_STEP("vmladava.s8")
                 "2:\n\t"
                 "beq 3f\n\t" /* flags still from lsrs: vector instructions leave them */
                 "1:\n\t"
                 TQ_MVE_STEP("vmladava.s8") TQ_MVE_STEP("vmladava.s8")
                 "subs %[n], %[n], #1\n\t"
                 "bne 1b\n\t"
                 "3:\n\t"
                 "ldr %[n], %[segments]\n\t"
                 "subs %[n], %[n], #1\n\t"
                 "str %[n], %[segments]\n\t"
                 "bne 5b\n\t"
                 "vmov %q[va][2], %q[va][0], %[a0], %[a2]\n\t"
                 "vmov %q[va][3], %q[va][1], %[a1], %[a3]\n\t"
                 "vmov %q[vb][2], %q[vb][0], %[b0], %[b2]\n\t"
                 "vmov %q[vb][3], %q[vb][1], %[b1], %[b3]\n\t"
                 : [va] "=w"(va), [vb] "=w"(vb), [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2),
                   [a3] "=&Te"(a3), [b0] "=&Te"(b0), [b1] "=&Te"(b1), [b2] "=&Te"(b2), [b3] "=&Te"(b3),
                   [x0] "+r"(x0), [x1] "+r"(x1), [w] "+r"(wp), [n] "=&r"(n), [segments] "+m"(segments)
                 : [chunks] "m"(chunks), [skip] "m"(skip)
                 : "q0", "q1", "q2", "q3", "memory", "cc");
  *w = wp;
  *row0 = va;
  *row1 = vb;
}

/* Requantize (TFLM's double rounding: vrshl rounds half up, so negative values
 * step down by one first to round half away from zero) the accumulator x with
 * the quad's q: bias, multiplier, left shift, right shift vectors (the
 * multiplier or shift vector is in q0 before each step). */
#define TQ_MVE_LEFT(x) "vshl.s32 %q[" #x "], %q[" #x "], q0\n\t"
#define TQ_MVE_MULTIPLY(x) "vqrdmulh.s32 %q[" #x "], %q[" #x "], q0\n\t"
#define TQ_MVE_ROUND_ANY(x)                              \
  "vand q1, %q[" #x "], q0\n\t"                          \
  "vshr.s32 q1, q1, #31\n\t"                             \
  "vqadd.s32 %q[" #x "], %q[" #x "], q1\n\t"             \
  "vrshl.s32 %q[" #x "], %q[" #x "], q0\n\t"
/* where every channel shifts right, the step down applies to every negative lane */
#define TQ_MVE_ROUND_RIGHT(x)                            \
  "vshr.s32 q1, %q[" #x "], #31\n\t"                     \
  "vqadd.s32 %q[" #x "], %q[" #x "], q1\n\t"             \
  "vrshl.s32 %q[" #x "], %q[" #x "], q0\n\t"

#define TQ_MVE_REQUANTIZE_ANY(each)                      \
  "vldrw.32 q0, [%[q], #32]\n\t" each(TQ_MVE_LEFT)       \
  "vldrw.32 q0, [%[q], #16]\n\t" each(TQ_MVE_MULTIPLY)   \
  "vldrw.32 q0, [%[q], #48]\n\t" each(TQ_MVE_ROUND_ANY)
/* right_shift_only layers: no left shift step, the shorter rounding */
#define TQ_MVE_REQUANTIZE_RIGHT(each)                    \
  "vldrw.32 q0, [%[q], #16]\n\t" each(TQ_MVE_MULTIPLY)   \
  "vldrw.32 q0, [%[q], #48]\n\t" each(TQ_MVE_ROUND_RIGHT)

/* a step on one pixel's accumulators, or on two pixels' */
#define TQ_MVE_ON_A(step) step(a)
#define TQ_MVE_ON_AB(step) step(a) step(b)

/* Requantize, offset, clamp and store 4 channels of two pixels; bounds: output
 * offset, lower and upper bound vectors. */
#define TQ_MVE_STORE_2X4(name, requantize)                                                            \
  static inline void name(int32x4_t a, int32x4_t b, const int8_t *q, const int32_t *bounds,          \
                          int8_t **out0, int8_t **out1) {                                            \
    int8_t *o0 = *out0, *o1 = *out1;                                                                 \
    __asm volatile("vldrw.32 q0, [%[q]]\n\t"                                                         \
                   "vadd.i32 %q[a], %q[a], q0\n\t"                                                   \
                   "vadd.i32 %q[b], %q[b], q0\n\t"                                                   \
                   requantize(TQ_MVE_ON_AB)                                                          \
                   "vldrw.32 q0, [%[bounds]]\n\t"                                                    \
                   "vadd.i32 %q[a], %q[a], q0\n\t"                                                   \
                   "vadd.i32 %q[b], %q[b], q0\n\t"                                                   \
                   "vldrw.32 q0, [%[bounds], #16]\n\t"                                               \
                   "vmax.s32 %q[a], %q[a], q0\n\t"                                                   \
                   "vmax.s32 %q[b], %q[b], q0\n\t"                                                   \
                   "vldrw.32 q0, [%[bounds], #32]\n\t"                                               \
                   "vmin.s32 %q[a], %q[a], q0\n\t"                                                   \
                   "vmin.s32 %q[b], %q[b], q0\n\t"                                                   \
                   "vstrb.32 %q[a], [%[o0]], #4\n\t"                                                 \
                   "vstrb.32 %q[b], [%[o1]], #4\n\t"                                                 \
                   : [a] "+w"(a), [b] "+w"(b), [o0] "+l"(o0), [o1] "+l"(o1)                          \
                   : [q] "r"(q), [bounds] "r"(bounds)                                                \
                   : "q0", "q1", "memory");                                                          \
    *out0 = o0;                                                                                      \
    *out1 = o1;                                                                                      \
  }

/* The same for one pixel. */
#define TQ_MVE_STORE_1X4(name, requantize)                                                            \
  static inline void name(int32x4_t a, const int8_t *q, const int32_t *bounds, int8_t **out0) {      \
    int8_t *o0 = *out0;                                                                              \
    __asm volatile("vldrw.32 q0, [%[q]]\n\t"                                                         \
                   "vadd.i32 %q[a], %q[a], q0\n\t"                                                   \
                   requantize(TQ_MVE_ON_A)                                                           \
                   "vldrw.32 q0, [%[bounds]]\n\t"                                                    \
                   "vadd.i32 %q[a], %q[a], q0\n\t"                                                   \
                   "vldrw.32 q0, [%[bounds], #16]\n\t"                                               \
                   "vmax.s32 %q[a], %q[a], q0\n\t"                                                   \
                   "vldrw.32 q0, [%[bounds], #32]\n\t"                                               \
                   "vmin.s32 %q[a], %q[a], q0\n\t"                                                   \
                   "vstrb.32 %q[a], [%[o0]], #4\n\t"                                                 \
                   : [a] "+w"(a), [o0] "+l"(o0)                                                      \
                   : [q] "r"(q), [bounds] "r"(bounds)                                                \
                   : "q0", "q1", "memory");                                                          \
    *out0 = o0;                                                                                      \
  }

TQ_MVE_STORE_2X4(tq_mve_store_2x4_any, TQ_MVE_REQUANTIZE_ANY)
TQ_MVE_STORE_2X4(tq_mve_store_2x4_right, TQ_MVE_REQUANTIZE_RIGHT)
TQ_MVE_STORE_1X4(tq_mve_store_1x4_any, TQ_MVE_REQUANTIZE_ANY)
TQ_MVE_STORE_1X4(tq_mve_store_1x4_right, TQ_MVE_REQUANTIZE_RIGHT)

/* One pixel's quad of outputs at out0 (`left` of them remain: the last, partial quad is stored through a
 * scratch copy of its bytes), `w` at the quad's requantization words. */
static inline void tq_mve_store_quad(int32x4_t acc, const int8_t *w, const int32_t *bounds, int32_t left,
                                     int8_t *out0) {
  int8_t last[4];
  int8_t *o = left >= 4 ? out0 : last;
  if (bounds[12])
    tq_mve_store_1x4_right(acc, w, bounds, &o);
  else
    tq_mve_store_1x4_any(acc, w, bounds, &o);
  for (int32_t j = 0; left < 4 && j < left; j++) out0[j] = last[j];
}

/* out0 [0 .. out_d) for the lone row x0 (chunks * 16 bytes), quad by quad. */
__attribute__((noinline)) static void tq_mve_block_single(const int8_t *x0, const int8_t *w, int32_t chunks,
                                                          int32_t out_d, const int32_t *bounds, int8_t *out0) {
  const int right = bounds[12]; /* the layer's requantization, chosen once, not per quad */
  for (int32_t quads = out_d >> 2; quads > 0 && right; quads--, w += TQ_MVE_QUAD_WORDS * 4) {
    const int32x4_t r0 = tq_mve_dot_1x4(x0, &w, chunks); /* moves w on to the quad's columns */
    tq_mve_store_1x4_right(r0, w, bounds, &out0);
  }
  for (int32_t quads = out_d >> 2; quads > 0 && !right; quads--, w += TQ_MVE_QUAD_WORDS * 4) {
    const int32x4_t r0 = tq_mve_dot_1x4(x0, &w, chunks);
    tq_mve_store_1x4_any(r0, w, bounds, &out0);
  }
  if (out_d & 3) { /* the last, partial quad: a scratch copy of its bytes */
    int8_t last[4];
    int8_t *l0 = last;
    const int32x4_t r0 = tq_mve_dot_1x4(x0, &w, chunks);
    if (right)
      tq_mve_store_1x4_right(r0, w, bounds, &l0);
    else
      tq_mve_store_1x4_any(r0, w, bounds, &l0);
    for (int32_t j = 0; j < (out_d & 3); j++) out0[j] = last[j];
  }
}

/* out0, out1 [0 .. out_d) for rows x0, x1 (chunks * 16 bytes each); the plain C
 * build's lone row passes x1 == x0 and out1 == out0 (the same bytes twice). */
/* A quad loop per row layout, each its own function: the dot products want
 * every even register, so each loop inlines just one of them. */
#define TQ_MVE_QUADS(dot, store)                                                                     \
  {                                                                                                  \
  int32x4_t r0, r1;                                                                                  \
  for (int32_t quads = out_d >> 2; quads > 0; quads--, w += TQ_MVE_QUAD_WORDS * 4) {                 \
    dot;                                                                                             \
    store(r0, r1, w, bounds, &out0, &out1);                                                          \
  }                                                                                                  \
  if (out_d & 3) { /* the last, partial quad: a scratch copy of its bytes */                         \
    int8_t last[2][4];                                                                               \
    int8_t *l0 = last[0], *l1 = last[1];                                                             \
    dot;                                                                                             \
    store(r0, r1, w, bounds, &l0, &l1);                                                              \
    for (int32_t j = 0; j < (out_d & 3); j++) {                                                      \
      out1[j] = last[1][j];                                                                          \
      out0[j] = last[0][j]; /* after out1: a lone row has out1 == out0 and last[0] == last[1] */     \
    }                                                                                                \
  }                                                                                                  \
  }
/* the layer's requantization chosen once per block, not per quad (bounds[12]: right_shift_only) */
#define TQ_MVE_QUADS_EITHER(dot)                                                                     \
  if (bounds[12]) {                                                                                  \
    TQ_MVE_QUADS(dot, tq_mve_store_2x4_right)                                                        \
  } else {                                                                                           \
    TQ_MVE_QUADS(dot, tq_mve_store_2x4_any)                                                          \
  }

__attribute__((noinline)) static void tq_mve_block_copied(const int8_t *x0, const int8_t *x1, const int8_t *w,
                                                          int32_t chunks, int32_t out_d, const int32_t *bounds,
                                                          int8_t *out0, int8_t *out1) {
  TQ_MVE_QUADS_EITHER(tq_mve_dot_2x4(x0, x1, &w, chunks, &r0, &r1))
}

__attribute__((noinline)) static void tq_mve_block_runs(const int8_t *x0, const int8_t *x1, const int8_t *w,
                                                        const tq_mve_rows *rows, int32_t out_d,
                                                        const int32_t *bounds, int8_t *out0, int8_t *out1) {
  TQ_MVE_QUADS_EITHER(tq_mve_dot_2x4_runs(x0, x1, &w, rows, &r0, &r1))
}

/* out0, out1 [0 .. out_d) for rows x0, x1 (a lone row goes to tq_mve_block_single). */
static inline void tq_mve_block(const int8_t *x0, const int8_t *x1, const int8_t *w, const tq_mve_rows *rows,
                                int32_t out_d, const int32_t *bounds, int8_t *out0, int8_t *out1) {
  if (rows->segments > 1)
    tq_mve_block_runs(x0, x1, w, rows, out_d, bounds, out0, out1);
  else
    tq_mve_block_copied(x0, x1, w, rows->chunks, out_d, bounds, out0, out1);
}

/* whole vectors, then one predicated vector for the rest */
/* whole vectors, then one predicated vector for the rest, or below 8 bytes words and bytes
 * (the im2col rows of few-channel inputs are runs of a few bytes) */
static inline void tq_mve_copy(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n >= 16; n -= 16, src += 16, dst += 16) vstrbq_s8(dst, vldrbq_s8(src));
  if (n >= 8) {
    const mve_pred16_t p = vctp8q((uint32_t)n);
    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    return;
  }
  for (; n >= 4; n -= 4, src += 4, dst += 4) {
    uint32_t word;
    memcpy(&word, src, 4);
    memcpy(dst, &word, 4);
  }
  for (; n > 0; n--) *dst++ = *src++;
}

static inline void tq_mve_fill(int8_t *dst, int8_t value, int32_t n) {
  const int8x16_t v = vdupq_n_s8(value);
  for (; n >= 16; n -= 16, dst += 16) vstrbq_s8(dst, v);
  if (n >= 8) {
    vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
    return;
  }
  for (; n > 0; n--) *dst++ = value;
}

#else /* plain C: the same packed data, for builds without Helium */

static int32_t tq_mve_requantize(int32_t acc, int32_t mult, int32_t lsh, int32_t rsh) {
  return tq_rdbpot(tq_srdhm((int32_t)((uint32_t)acc << lsh), mult), -rsh);
}

typedef struct {
  int32_t segments, chunks, skip;
} tq_mve_rows;

static void tq_mve_block(const int8_t *x0, const int8_t *x1, const int8_t *w, const tq_mve_rows *rows,
                         int32_t out_d, const int32_t *bounds, int8_t *out0, int8_t *out1) {
  const int two_rows = x1 != x0;
  const int32_t chunks = rows->segments * rows->chunks; /* the C build always passes im2col rows */
  for (int32_t n0 = 0; n0 < out_d; n0 += 4, w += 64 * chunks + 4 * TQ_MVE_QUAD_WORDS) {
    const int32_t *q = (const int32_t *)(const void *)(w + 64 * chunks);
    for (int32_t j = 0; j < 4 && n0 + j < out_d; j++) {
      for (int r = 0; r < 1 + two_rows; r++) {
        const int8_t *x = r ? x1 : x0;
        int32_t acc = q[j];
        for (int32_t c = 0; c < chunks; c++)
          for (int32_t i = 0; i < 16; i++) acc += x[16 * c + i] * w[64 * c + 16 * j + i];
        acc = tq_mve_requantize(acc, q[4 + j], q[8 + j], q[12 + j]) + bounds[0];
        (r ? out1 : out0)[n0 + j] = (int8_t)(acc < bounds[4] ? bounds[4] : acc > bounds[8] ? bounds[8] : acc);
      }
    }
  }
}

static void tq_mve_block_single(const int8_t *x0, const int8_t *w, int32_t chunks, int32_t out_d,
                                const int32_t *bounds, int8_t *out0) {
  const tq_mve_rows rows = {1, chunks, 0};
  tq_mve_block(x0, x0, w, &rows, out_d, bounds, out0, out0);
}

static inline void tq_mve_copy(int8_t *dst, const int8_t *src, int32_t n) { memcpy(dst, src, (size_t)n); }

static inline void tq_mve_fill(int8_t *dst, int8_t value, int32_t n) { memset(dst, value, (size_t)n); }

#endif

/* The im2col row of output pixel (b, oy, ox): taps in filter order [ky][kx][c],
 * each window row `run_bytes` after the last; taps outside the input hold the
 * input zero point. */
static void tq_mve_im2col(const tq_mve_conv_params *p, const int8_t *input, int32_t b, int32_t oy, int32_t ox,
                          int32_t run_bytes, int8_t *row) {
  /* locals, not p->: the byte stores below may alias p as far as the compiler knows */
  const int8_t zero = (int8_t)(-p->input_offset);
  const int32_t c = p->in_d, filter_h = p->filter_h, filter_w = p->filter_w, taps_w = filter_w * c;
  const int32_t in_h = p->in_h, in_w = p->in_w, dilation_h = p->dilation_h, dilation_w = p->dilation_w;
  const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
  const int32_t x_end = x0 + (filter_w - 1) * dilation_w;
  const int contiguous = dilation_w == 1 && x0 >= 0 && x_end < in_w; /* each window row is one run */
  for (int32_t ky = 0; ky < filter_h; ky++, row += run_bytes) {
    const int32_t y = y0 + ky * dilation_h;
    if (y < 0 || y >= in_h) {
      tq_mve_fill(row, zero, taps_w);
      continue;
    }
    const int8_t *line = input + ((b * in_h + y) * in_w) * c;
    if (contiguous) {
      tq_mve_copy(row, line + x0 * c, taps_w);
      continue;
    }
    if (dilation_w == 1) { /* zero points left of the input, the taps inside, zero points right of it */
      const int32_t lo = x0 < 0 ? -x0 : 0, hi = in_w - x0 < filter_w ? in_w - x0 : filter_w;
      const int32_t inner = hi > lo ? hi : lo;
      tq_mve_fill(row, zero, lo * c);
      tq_mve_copy(row + lo * c, line + (x0 + lo) * c, (inner - lo) * c);
      tq_mve_fill(row + inner * c, zero, (filter_w - inner) * c);
      continue;
    }
    for (int32_t kx = 0; kx < filter_w; kx++) {
      const int32_t x = x0 + kx * dilation_w;
      if (x < 0 || x >= in_w)
        tq_mve_fill(row + kx * c, zero, c);
      else
        tq_mve_copy(row + kx * c, line + x * c, c);
    }
  }
}

/* --- one pixel at a time, no buffer (tq_mve_conv_single_s8) --------------------------------------- */

/* The input bytes [lo, hi) of a window row that lie inside the input, counted from the
 * window's first tap (x0 may be left of the input or the window reach past its right edge). */
static inline void tq_mve_window_cols(const tq_mve_conv_params *p, int32_t x0, int32_t *lo, int32_t *hi) {
  const int32_t first = x0 < 0 ? -x0 : 0, end = p->in_w - x0 < p->filter_w ? p->in_w - x0 : p->filter_w;
  *lo = first * p->in_d;
  *hi = (end > first ? end : first) * p->in_d;
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

/* out0 [0 .. out_d) for one pixel whose window is read where it lies: `rows` runs of whole chunks. */
__attribute__((noinline)) static void tq_mve_single_inside(const int8_t *x0, const int8_t *w, const tq_mve_rows *rows,
                                                           int32_t out_d, const int32_t *bounds, int8_t *out0) {
  const int32_t segments = rows->segments, chunks = rows->chunks, step = 16 * chunks + rows->skip;
  for (int32_t n0 = 0; n0 < out_d; n0 += 4, w += TQ_MVE_QUAD_WORDS * 4) {
    int32x4_t acc = tq_mve_dot_1x4(x0, &w, chunks); /* moves w on through the quad's weights */
    for (int32_t s = 1; s < segments; s++) acc = vaddq_s32(acc, tq_mve_dot_1x4(x0 + s * step, &w, chunks));
    tq_mve_store_quad(acc, w, bounds, out_d - n0, out0);
    out0 += 4;
  }
}

/* out0 [0 .. out_d) for one pixel whose window leaves the input mid-chunk (or would read past its end):
 * each chunk loaded with only its lanes inside the input, the others the zero point. */
__attribute__((noinline)) static void tq_mve_single_lanes(const tq_mve_conv_params *p, const int8_t *input,
                                                          int32_t b, int32_t y0, int32_t x0, const int8_t *w,
                                                          int32_t run_chunks, const int32_t *bounds, int8_t *out0) {
  const int8x16_t zero = vdupq_n_s8((int8_t)(-p->input_offset));
  const int32_t out_d = p->out_d, filter_h = p->filter_h, row_bytes = p->in_w * p->in_d;
  int32_t lo, hi;
  tq_mve_window_cols(p, x0, &lo, &hi);
  for (int32_t n0 = 0; n0 < out_d; n0 += 4, w += TQ_MVE_QUAD_WORDS * 4) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int32_t ky = 0; ky < filter_h; ky++) {
      const int32_t y = y0 + ky * p->dilation_h;
      const int8_t *line = y >= 0 && y < p->in_h ? input + (b * p->in_h + y) * row_bytes + x0 * p->in_d : 0;
      for (int32_t c = 0; c < run_chunks; c++, w += 64) {
        int8x16_t x = zero;
        const int32_t l = lo - 16 * c, h = hi - 16 * c;
        if (line && h > 0 && l < 16) { /* lanes [l, h) of this chunk lie inside the input */
          const mve_pred16_t inside = vctp8q((uint32_t)(h < 16 ? h : 16)) & ~vctp8q((uint32_t)(l > 0 ? l : 0));
          x = vpselq_s8(vldrbq_z_s8(line + 16 * c, inside), zero, inside);
        }
        a0 = vmladavaq_s8(a0, x, vldrbq_s8(w));
        a1 = vmladavaq_s8(a1, x, vldrbq_s8(w + 16));
        a2 = vmladavaq_s8(a2, x, vldrbq_s8(w + 32));
        a3 = vmladavaq_s8(a3, x, vldrbq_s8(w + 48));
      }
    }
    const int32x4_t acc = {a0, a1, a2, a3};
    tq_mve_store_quad(acc, w, bounds, out_d - n0, out0);
    out0 += 4;
  }
}

/* out0 [0 .. out_d) for one pixel whose window leaves the input at chunk boundaries: the chunks
 * [c_lo, c_hi) of each window row inside the input read where they lie, the others' products with
 * the zero point added from `border` (per quad, per chunk, 4 words: tq_mve/conv_2d.py border_consts). */
__attribute__((noinline)) static void tq_mve_single_clipped(const tq_mve_conv_params *p, const int8_t *input,
                                                            int32_t b, int32_t y0, int32_t x0, const int8_t *w,
                                                            const int32_t *border, int32_t run_chunks, int32_t c_lo,
                                                            int32_t c_hi, const int32_t *bounds, int8_t *out0) {
  const int32_t out_d = p->out_d, filter_h = p->filter_h, chunks = filter_h * run_chunks;
  const int32_t row_bytes = p->in_w * p->in_d;
  for (int32_t n0 = 0; n0 < out_d; n0 += 4, w += 64 * chunks + TQ_MVE_QUAD_WORDS * 4, border += 4 * chunks) {
    int32x4_t acc = vdupq_n_s32(0);
    for (int32_t ky = 0; ky < filter_h; ky++) {
      const int32_t y = y0 + ky * p->dilation_h;
      const int32_t *missing = border + 4 * ky * run_chunks;
      int32_t from = run_chunks, to = run_chunks; /* chunks outside the input: [0, from) and [to, run_chunks) */
      if (y >= 0 && y < p->in_h && c_hi > c_lo) {
        const int8_t *wp = w + 64 * (ky * run_chunks + c_lo);
        acc = vaddq_s32(acc, tq_mve_dot_1x4(input + (b * p->in_h + y) * row_bytes + x0 * p->in_d + 16 * c_lo, &wp,
                                            c_hi - c_lo));
        from = c_lo;
        to = c_hi;
      }
      for (int32_t c = 0; c < from; c++) acc = vaddq_s32(acc, vldrwq_s32(missing + 4 * c));
      for (int32_t c = to; c < run_chunks; c++) acc = vaddq_s32(acc, vldrwq_s32(missing + 4 * c));
    }
    tq_mve_store_quad(acc, w + 64 * chunks, bounds, out_d - n0, out0);
    out0 += 4;
  }
}

/* out0, out1 [0 .. out_d) for two pixels of one output row whose windows leave the input only above
 * or below: window rows [ky_lo, ky_hi) read where they lie from x0, x1 (their first such row, `skip`
 * bytes between rows), the other rows' zero-point products added from `border`. */
__attribute__((noinline)) static void tq_mve_pair_rows(const int8_t *x0, const int8_t *x1, const int8_t *w,
                                                       const int32_t *border, int32_t filter_h, int32_t ky_lo,
                                                       int32_t ky_hi, int32_t run_chunks, int32_t skip,
                                                       int32_t out_d, const int32_t *bounds, int8_t *out0,
                                                       int8_t *out1) {
  const int32_t chunks = filter_h * run_chunks, first = ky_lo * run_chunks, end = ky_hi * run_chunks;
  const tq_mve_rows rows = {ky_hi - ky_lo, run_chunks, skip};
  const int right = bounds[12];
  for (int32_t n0 = 0; n0 < out_d; n0 += 4, w += 64 * chunks + TQ_MVE_QUAD_WORDS * 4, border += 4 * chunks) {
    const int8_t *wp = w + 64 * first;
    int32x4_t r0, r1;
    tq_mve_dot_2x4_runs(x0, x1, &wp, &rows, &r0, &r1);
    int32x4_t missing = vdupq_n_s32(0);
    for (int32_t c = 0; c < first; c++) missing = vaddq_s32(missing, vldrwq_s32(border + 4 * c));
    for (int32_t c = end; c < chunks; c++) missing = vaddq_s32(missing, vldrwq_s32(border + 4 * c));
    r0 = vaddq_s32(r0, missing);
    r1 = vaddq_s32(r1, missing);
    int8_t last[2][4];
    int8_t *o0 = out_d - n0 >= 4 ? out0 : last[0], *o1 = out_d - n0 >= 4 ? out1 : last[1];
    if (right)
      tq_mve_store_2x4_right(r0, r1, w + 64 * chunks, bounds, &o0, &o1);
    else
      tq_mve_store_2x4_any(r0, r1, w + 64 * chunks, bounds, &o0, &o1);
    if (out_d - n0 < 4) /* the last, partial quad: a scratch copy of its bytes */
      for (int32_t j = 0; j < out_d - n0; j++) {
        out1[j] = last[1][j];
        out0[j] = last[0][j];
      }
    out0 += 4;
    out1 += 4;
  }
}

/* out0 [0 .. out_d) for one pixel whose window leaves the input. */
static void tq_mve_single_border(const tq_mve_conv_params *p, const int8_t *input, int32_t b, int32_t y0, int32_t x0,
                                 const int8_t *w, const int32_t *border, int32_t run_chunks, const int32_t *bounds,
                                 int8_t *out0) {
  int32_t lo, hi;
  tq_mve_window_cols(p, x0, &lo, &hi);
  if (lo % 16 == 0 && hi % 16 == 0) /* whole chunks in or out (and no read past a window row) */
    tq_mve_single_clipped(p, input, b, y0, x0, w, border, run_chunks, lo / 16, hi / 16, bounds, out0);
  else
    tq_mve_single_lanes(p, input, b, y0, x0, w, run_chunks, bounds, out0);
}

#else /* plain C: the same arithmetic, tap by tap */

static void tq_mve_single_border(const tq_mve_conv_params *p, const int8_t *input, int32_t b, int32_t y0, int32_t x0,
                                 const int8_t *w, const int32_t *border, int32_t run_chunks, const int32_t *bounds,
                                 int8_t *out0) {
  (void)border;
  const int32_t out_d = p->out_d, filter_h = p->filter_h, chunks = filter_h * run_chunks;
  const int32_t zero = -p->input_offset, row_bytes = p->in_w * p->in_d;
  int32_t lo, hi;
  tq_mve_window_cols(p, x0, &lo, &hi);
  for (int32_t n0 = 0; n0 < out_d; n0 += 4, w += 64 * chunks + 4 * TQ_MVE_QUAD_WORDS) {
    const int32_t *q = (const int32_t *)(const void *)(w + 64 * chunks);
    for (int32_t j = 0; j < 4 && n0 + j < out_d; j++) {
      int32_t acc = q[j];
      for (int32_t ky = 0; ky < filter_h; ky++) {
        const int32_t y = y0 + ky * p->dilation_h;
        const int8_t *line = y >= 0 && y < p->in_h ? input + (b * p->in_h + y) * row_bytes + x0 * p->in_d : 0;
        for (int32_t t = 0; t < 16 * run_chunks; t++) {
          const int32_t x = line && t >= lo && t < hi ? line[t] : zero;
          acc += x * w[64 * (ky * run_chunks + t / 16) + 16 * j + t % 16];
        }
      }
      acc = tq_mve_requantize(acc, q[4 + j], q[8 + j], q[12 + j]) + bounds[0];
      out0[n0 + j] = (int8_t)(acc < bounds[4] ? bounds[4] : acc > bounds[8] ? bounds[8] : acc);
    }
  }
}

#endif

/* output offset, activation minimum and maximum (4 lanes each), right_shift_only: what the stores read */
static void tq_mve_conv_bounds(const tq_mve_conv_params *p, int32_t *bounds) {
  for (int i = 0; i < 4; i++) {
    bounds[i] = p->output_offset;
    bounds[4 + i] = p->act_min;
    bounds[8 + i] = p->act_max;
  }
  bounds[12] = p->right_shift_only;
}

void tq_mve_conv_single_s8(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed,
                           const int32_t *border, int8_t *output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d, out_d = p->out_d, filter_w = p->filter_w;
  const int32_t run_chunks = (filter_w * in_d + 15) / 16, y_span = (p->filter_h - 1) * p->dilation_h;
  const int32_t input_bytes = p->batches * in_h * in_w * in_d, last_run = y_span * in_w * in_d + 16 * run_chunks;
  const int8_t *w = (const int8_t *)(const void *)packed;
  int32_t bounds[13];
  tq_mve_conv_bounds(p, bounds);
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
  const tq_mve_rows rows = {p->filter_h, run_chunks, p->dilation_h * in_w * in_d - 16 * run_chunks};
#endif
  for (int32_t b = 0; b < p->batches; b++) {
    for (int32_t oy = 0; oy < p->out_h; oy++) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int rows_inside = y0 >= 0 && y0 + y_span < in_h;
      for (int32_t ox = 0, x0 = -p->pad_w; ox < p->out_w; ox++, x0 += p->stride_w, output += out_d) {
        const int32_t start = ((b * in_h + y0) * in_w + x0) * in_d;
        /* padded runs read past the window row: never past the input's end */
        const int inside = rows_inside && x0 >= 0 && x0 + filter_w <= in_w && start + last_run <= input_bytes;
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
        if (inside) {
          tq_mve_single_inside(input + start, w, &rows, out_d, bounds, output);
          continue;
        }
#else
        (void)inside;
#endif
        tq_mve_single_border(p, input, b, y0, x0, w, border, run_chunks, bounds, output);
      }
    }
  }
}

/* An output pixel waiting for its pair partner. */
typedef struct {
  int32_t b, oy, ox;
  int32_t start; /* input offset of its window's first tap (the pixel's row itself when direct) */
  int inside;    /* the window lies inside the input and may be read in place */
} tq_mve_pixel;

/* One pixel on its own (tq_mve_conv_single_s8's code): its window read where it lies, or with the lanes
 * outside the input taking the zero point. */
static void tq_mve_conv_one(const tq_mve_conv_params *p, const int8_t *input, const int8_t *w, const int32_t *border,
                            const tq_mve_rows *rows, const tq_mve_pixel *pixel, const int32_t *bounds, int8_t *output) {
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
  if (pixel->inside) {
    tq_mve_single_inside(input + pixel->start, w, rows, p->out_d, bounds, output);
    return;
  }
#else
  (void)rows;
#endif
  tq_mve_single_border(p, input, pixel->b, pixel->oy * p->stride_h - p->pad_h, pixel->ox * p->stride_w - p->pad_w, w,
                       border, (p->filter_w * p->in_d + 15) / 16, bounds, output);
}

/* Pixel pairs in raster order. Windows it cannot read in place are copied into two im2col rows at
 * `scratch`, or, given `border` (layers whose windows can be read in place), such a pair's pixels
 * run one at a time with no copy; `held`: out_d bytes for a pair's second pixel (0: after the rows in
 * `scratch`, as tq_mve/conv_2d.py conv_scratch_bytes plans them). */
static void tq_mve_conv_run(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed, int8_t *output,
                            int8_t *scratch, int8_t *held, const int32_t *border) {
  const int border_single = border != 0;
  const int32_t batches = p->batches, out_h = p->out_h, out_w = p->out_w, out_d = p->out_d;
  const int32_t in_h = p->in_h, in_w = p->in_w, in_d = p->in_d, stride_h = p->stride_h, stride_w = p->stride_w;
  const int32_t filter_h = p->filter_h, filter_w = p->filter_w, pad_h = p->pad_h, pad_w = p->pad_w;
  const int32_t taps_w = filter_w * in_d, y_span = (filter_h - 1) * p->dilation_h;
  const int32_t dense_chunks = (filter_h * taps_w + 15) / 16, run_chunks = (taps_w + 15) / 16;
  const int direct = filter_h == 1 && filter_w == 1 && pad_h == 0 && pad_w == 0 && in_d % 16 == 0;
  /* Window rows that are not whole chunks may each be padded to whole chunks
   * (zero weights), when that costs at most half as many chunks again: then a
   * window inside the input is read in place too (tinyq/backends/cmsis_nn_mve.py
   * packs the weights the same way: conv_runs_padded). */
  const int padded = !direct && p->dilation_w == 1 && taps_w % 16 != 0 &&
                     2 * filter_h * run_chunks <= 3 * dense_chunks;
  const int32_t chunks = padded ? filter_h * run_chunks : dense_chunks, row_bytes = 16 * chunks;
  const int32_t run_bytes = padded ? 16 * run_chunks : taps_w;
  const int32_t input_bytes = batches * in_h * in_w * in_d, last_run = y_span * in_w * in_d + run_bytes;
  const int8_t *w = (const int8_t *)(const void *)packed;
  const tq_mve_rows copied = {1, chunks, 0};
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
  /* a window wholly inside the input, whose rows are whole chunks, is read in place */
  const int windows = !direct && p->dilation_w == 1 && (taps_w % 16 == 0 || padded);
#else
  const int windows = 0;
#endif
  const tq_mve_rows in_place = {filter_h, run_bytes / 16, p->dilation_h * in_w * in_d - run_bytes};
  int32_t bounds[13];
  tq_mve_conv_bounds(p, bounds);
  /* an output that does not overlap the input at all needs no held pixel */
  const int disjoint = output >= input + input_bytes || output + batches * out_h * out_w * out_d <= input;
  const int hold_second = !disjoint && out_d <= TQ_MVE_CONV_HOLD;
  if (!held) held = scratch + (direct ? 0 : (batches * out_h * out_w > 1 ? 2 : 1) * row_bytes);
  const int32_t x_step = stride_w * in_d;
  tq_mve_pixel pixel[2]; /* the pending pair: where its windows start, whether they are inside */
  int pending = 0;
  for (int32_t b = 0; b < batches; b++) {
    for (int32_t oy = 0; oy < out_h; oy++) {
      const int32_t y0 = oy * stride_h - pad_h;
      const int rows_inside = windows && y0 >= 0 && y0 + y_span < in_h;
      int32_t x0 = -pad_w, start = ((b * in_h + y0) * in_w - pad_w) * in_d;
      for (int32_t ox = 0; ox < out_w; ox++, x0 += stride_w, start += x_step) {
        tq_mve_pixel *now = &pixel[pending];
        now->b = b;
        now->oy = oy;
        now->ox = ox;
        now->start = start;
        /* padded runs read past the window row: never past the input's end */
        now->inside = rows_inside && x0 >= 0 && x0 + filter_w <= in_w && start + last_run <= input_bytes;
        if (++pending < 2) continue;
        pending = 0;
        const int8_t *x0_row, *x1_row;
        const tq_mve_rows *layout = &copied;
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
        /* a pair of one output row whose windows leave the input only above or below (over whole
         * chunks of taps): the rows inside read where they lie, as a pair */
        if (border_single && !direct && !(pixel[0].inside && pixel[1].inside) && pixel[0].oy == pixel[1].oy &&
            pixel[0].b == pixel[1].b && taps_w % 16 == 0 && pixel[0].ox * stride_w >= pad_w &&
            pixel[1].ox * stride_w - pad_w + filter_w <= in_w) {
          const int32_t y0 = pixel[0].oy * stride_h - pad_h, dilation_h = p->dilation_h;
          int32_t ky_lo = 0, ky_hi = filter_h;
          while (ky_lo < filter_h && y0 + ky_lo * dilation_h < 0) ky_lo++;
          while (ky_hi > ky_lo && y0 + (ky_hi - 1) * dilation_h >= in_h) ky_hi--;
          if (ky_hi > ky_lo) {
            const int32_t to_row = ky_lo * dilation_h * in_w * in_d;
            int8_t *second = hold_second ? held : output + out_d;
            tq_mve_pair_rows(input + pixel[0].start + to_row, input + pixel[1].start + to_row, w, border, filter_h,
                             ky_lo, ky_hi, run_chunks, in_place.skip, out_d, bounds, output, second);
            if (hold_second) tq_mve_copy(output + out_d, held, out_d);
            output += 2 * out_d;
            continue;
          }
        }
#endif
        if (border_single && !direct && !(pixel[0].inside && pixel[1].inside)) {
          tq_mve_conv_one(p, input, w, border, &in_place, &pixel[0], bounds, output);
          tq_mve_conv_one(p, input, w, border, &in_place, &pixel[1], bounds, output + out_d);
          output += 2 * out_d;
          continue;
        }
        if (direct || (pixel[0].inside && pixel[1].inside)) {
          x0_row = input + pixel[0].start;
          x1_row = input + pixel[1].start;
          layout = direct ? &copied : &in_place;
        } else {
          x0_row = scratch;
          x1_row = scratch + row_bytes;
          tq_mve_im2col(p, input, pixel[0].b, pixel[0].oy, pixel[0].ox, run_bytes, scratch);
          tq_mve_im2col(p, input, pixel[1].b, pixel[1].oy, pixel[1].ox, run_bytes, scratch + row_bytes);
        }
        /* the second pixel's outputs are held until both rows were read for every quad: written
         * straight away they could overwrite the first pixel's row while it is still read, where
         * the output overlaps the input (tinyq/backends/tq_mve/conv_2d.py's in-place rule) */
        if (hold_second) {
          tq_mve_block(x0_row, x1_row, w, layout, out_d, bounds, output, held);
          tq_mve_copy(output + out_d, held, out_d);
        } else {
          tq_mve_block(x0_row, x1_row, w, layout, out_d, bounds, output, output + out_d);
        }
        output += 2 * out_d;
      }
    }
  }
  if (pending && border_single && !direct) {
    tq_mve_conv_one(p, input, w, border, &in_place, &pixel[0], bounds, output);
  } else if (pending) { /* a lone last row */
    const int8_t *x0 = scratch;
    if (direct)
      x0 = input + pixel[0].start;
    else
      tq_mve_im2col(p, input, pixel[0].b, pixel[0].oy, pixel[0].ox, run_bytes, scratch);
    tq_mve_block_single(x0, w, chunks, out_d, bounds, output);
  }
}

void tq_mve_conv_s8(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed, int8_t *output,
                    int8_t *scratch) {
  tq_mve_conv_run(p, input, packed, output, scratch, 0, 0);
}

void tq_mve_conv_inplace_s8(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed,
                            const int32_t *border, int8_t *output, int8_t *held) {
  tq_mve_conv_run(p, input, packed, output, 0, held, border);
}
