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

/* 4 elements (fewer where `live` says so) */
#define TQ_MVE_ADD_STEP(load_a, load_b, store)                                                               \
  do {                                                                                                       \
    int32x4_t x = vshlq_r_s32(vaddq_n_s32(load_a, offset1), left_shift);                                     \
    int32x4_t y = vshlq_r_s32(vaddq_n_s32(load_b, offset2), left_shift);                                     \
    x = vaddq_s32(tq_mve_add_scale(x, multiplier1, shift1), tq_mve_add_scale(y, multiplier2, shift2));       \
    x = vaddq_n_s32(tq_mve_add_scale(x, multiplier_out, shift_out), offset_out);                             \
    store;                                                                                                   \
  } while (0)

void tq_mve_add_s8(const tq_mve_add_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  /* locals, not p->: the stores through out could alias p as far as the compiler knows */
  const int32_t offset1 = p->input1_offset, offset2 = p->input2_offset, offset_out = p->output_offset;
  const int32_t left_shift = p->left_shift, multiplier1 = p->input1_multiplier;
  const int32_t multiplier2 = p->input2_multiplier, multiplier_out = p->output_multiplier;
  const int32x4_t shift1 = vdupq_n_s32(p->input1_shift), shift2 = vdupq_n_s32(p->input2_shift);
  const int32x4_t shift_out = vdupq_n_s32(p->output_shift);
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  int32_t n = p->count;
  for (; n >= 4; n -= 4, a += 4, b += 4, out += 4)
    TQ_MVE_ADD_STEP(vldrbq_s32(a), vldrbq_s32(b), vstrbq_s32(out, vminq_s32(vmaxq_s32(x, lo), hi)));
  if (n > 0) {
    const mve_pred16_t live = vctp32q((uint32_t)n);
    TQ_MVE_ADD_STEP(vldrbq_z_s32(a, live), vldrbq_z_s32(b, live),
                    vstrbq_p_s32(out, vminq_s32(vmaxq_s32(x, lo), hi), live));
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
