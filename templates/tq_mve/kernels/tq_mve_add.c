/* See tq_mve_add.h. */
#include "tq_mve_add.h"
#include "tq_common.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT by -shift (vrshl
 * rounds half up: negative values step down by one first, only when shifting;
 * `shift` is the broadcast negative exponent, whose sign bit says so) */
static inline int32x4_t tq_mve_add_scale(int32x4_t x, int32_t multiplier, int32x4_t shift) {
  x = vqrdmulhq_n_s32(x, multiplier);
  x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, shift), 31));
  return vrshlq_s32(x, shift);
}

/* the same for a negative shift: every negative value steps down */
static inline int32x4_t tq_mve_add_scale_right(int32x4_t x, int32_t multiplier, int32x4_t shift) {
  x = vqrdmulhq_n_s32(x, multiplier);
  x = vqaddq_s32(x, vshrq_n_s32(x, 31));
  return vrshlq_s32(x, shift);
}

/* the same for a shift of 0: RoundingDivideByPOT by 0 leaves the value as it is */
static inline int32x4_t tq_mve_add_scale_none(int32x4_t x, int32_t multiplier, int32x4_t shift) {
  (void)shift;
  return vqrdmulhq_n_s32(x, multiplier);
}

/* 4 elements (fewer where `live` says so): (x + offset) << left_shift as one
 * multiply-add on the MAC unit (x * 2^left_shift + offset * 2^left_shift, both
 * wrapping like the shift) */
#define TQ_MVE_ADD_STEP(scale1, scale2, scale_out, load_a, load_b, store)                                    \
  do {                                                                                                       \
    int32x4_t x = vmlasq_n_s32(load_a, scale_in, shifted1);                                                  \
    int32x4_t y = vmlasq_n_s32(load_b, scale_in, shifted2);                                                  \
    x = vaddq_s32(scale1(x, multiplier1, shift1), scale2(y, multiplier2, shift2));                           \
    x = vaddq_n_s32(scale_out(x, multiplier_out, shift_out), offset_out);                                    \
    store;                                                                                                   \
  } while (0)

#define TQ_MVE_ADD_LOOP(scale1, scale2, scale_out)                                                           \
  for (; n >= 4; n -= 4, a += 4, b += 4, out += 4)                                                           \
    TQ_MVE_ADD_STEP(scale1, scale2, scale_out, vldrbq_s32(a), vldrbq_s32(b),                                 \
                    vstrbq_s32(out, vminq_s32(vmaxq_s32(x, lo), hi)));                                       \
  if (n > 0) {                                                                                               \
    const mve_pred16_t live = vctp32q((uint32_t)n);                                                          \
    TQ_MVE_ADD_STEP(scale1, scale2, scale_out, vldrbq_z_s32(a, live), vldrbq_z_s32(b, live),                 \
                    vstrbq_p_s32(out, vminq_s32(vmaxq_s32(x, lo), hi), live));                               \
  }

void tq_mve_add_s8(const tq_mve_add_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  /* locals, not p->: the stores through out could alias p as far as the compiler knows */
  const int32_t offset_out = p->output_offset, multiplier1 = p->input1_multiplier;
  const int32_t multiplier2 = p->input2_multiplier, multiplier_out = p->output_multiplier;
  const int32x4_t scale_in = vdupq_n_s32((int32_t)(1u << p->left_shift));
  const int32_t shifted1 = (int32_t)((uint32_t)p->input1_offset << p->left_shift);
  const int32_t shifted2 = (int32_t)((uint32_t)p->input2_offset << p->left_shift);
  const int32x4_t shift1 = vdupq_n_s32(p->input1_shift), shift2 = vdupq_n_s32(p->input2_shift);
  const int32x4_t shift_out = vdupq_n_s32(p->output_shift);
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  int32_t n = p->count;
  /* the usual shifts get the shorter rescales: the input of the larger scale has a multiplier of
   * 1/2 (shift 0), the other and the output shift right */
  const int32_t s1 = p->input1_shift, s2 = p->input2_shift, s_out = p->output_shift;
  if (s_out < 0 && s1 == 0 && s2 < 0) {
    TQ_MVE_ADD_LOOP(tq_mve_add_scale_none, tq_mve_add_scale_right, tq_mve_add_scale_right)
  } else if (s_out < 0 && s1 < 0 && s2 == 0) {
    TQ_MVE_ADD_LOOP(tq_mve_add_scale_right, tq_mve_add_scale_none, tq_mve_add_scale_right)
  } else if (s_out < 0 && s1 < 0 && s2 < 0) {
    TQ_MVE_ADD_LOOP(tq_mve_add_scale_right, tq_mve_add_scale_right, tq_mve_add_scale_right)
  } else {
    TQ_MVE_ADD_LOOP(tq_mve_add_scale, tq_mve_add_scale, tq_mve_add_scale)
  }
}

#else /* plain C */

static int32_t tq_mve_add_scale(int32_t x, int32_t multiplier, int32_t shift) {
  return tq_rdbpot(tq_srdhm(x, multiplier), -shift);
}

void tq_mve_add_s8(const tq_mve_add_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  for (int32_t i = 0; i < p->count; i++) {
    const int32_t x = (int32_t)((uint32_t)(a[i] + p->input1_offset) << p->left_shift);
    const int32_t y = (int32_t)((uint32_t)(b[i] + p->input2_offset) << p->left_shift);
    const int32_t sum = tq_mve_add_scale(x, p->input1_multiplier, p->input1_shift) +
                        tq_mve_add_scale(y, p->input2_multiplier, p->input2_shift);
    const int32_t v = tq_mve_add_scale(sum, p->output_multiplier, p->output_shift) + p->output_offset;
    out[i] = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
  }
}

#endif
