#include "tq_div.h"

#include "tq_fixedpoint.h"

/* CountLeadingSignBits (GCC's __builtin_clrsb in TFLM): 31 for 0 and -1. */
static inline int tq_div_clrsb(int32_t x) {
  const uint32_t bits = (uint32_t)(x < 0 ? ~x : x);
  return bits == 0 ? 31 : tq_fp_clz32(bits) - 1;
}

/* gemmlowp's RoundingDivideByPOT as the golden model (TFLM's x86-64 build) runs it. TFLM lets the
 * exponent reach 32..62 (a small numerator or a large divisor against a small output multiplier)
 * where C leaves the shift undefined; there its mask, (1 << e) - 1 truncated to int32, is -1, and
 * the arithmetic shift takes e modulo 32, so the "rounding" adds 1 to every x >= 0. Reproduced
 * with defined arithmetic on every target (tinyq/ops/div.py bounds e to 0..62). */
static inline int32_t tq_div_rdbpot(int32_t x, int exponent) {
  if (exponent < 32) return tq_rdbpot(x, exponent);
  return (x >> (exponent & 31)) + (x >= 0 ? 1 : 0);
}

static inline int8_t tq_div_scaled(const tq_div_params_t *q, int8_t a, int8_t b) {
  int32_t num = a + q->input1_offset, den = b + q->input2_offset;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  int recip_shift;
  int32_t inverse;
  if (den == 0) {
    /* TFLM does not check the divisor: GetReciprocal(0) counts 32 leading zeros and shifts the
     * divisor by 32, which x86 takes as a shift by 0 (0 - 1.0 in Q0 is INT32_MIN). */
    recip_shift = -1;
    inverse = tq_fp_one_over_one_plus_x(INT32_MIN);
  } else {
    inverse = tq_fp_reciprocal(den, 31, &recip_shift);
  }
  const int headroom = tq_div_clrsb(num);
  const int32_t quotient = tq_srdhm((int32_t)((uint32_t)num << headroom), inverse);
  const int total_shift = q->output_shift - recip_shift - headroom; /* <= 0, checked offline */
  const int32_t out = tq_div_rdbpot(tq_srdhm(quotient, q->output_multiplier), -total_shift) + q->output_offset;
  return (int8_t)TQ_CLAMP(out, q->act_min, q->act_max);
}

/* C's truncating division. TFLM traps on a zero divisor and on INT32_MIN / -1 (x86 raises
 * SIGFPE); here they give what Arm's SDIV gives, 0 and INT32_MIN, without undefined behaviour. */
static inline int32_t tq_div_truncating(const tq_div_params_t *q, int32_t a, int32_t b) {
  int32_t r;
  if (b == 0) {
    r = 0;
  } else if (b == -1) {
    r = (int32_t)(0u - (uint32_t)a);
  } else {
    r = a / b;
  }
  return TQ_CLAMP(r, q->act_min, q->act_max);
}

/* Parameters are copied to a local: the output stores may alias *p. */
void tq_div_s8(const tq_div_params_t *p, const int8_t *x, const int8_t *y, int8_t *output) {
  const tq_div_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_div_scaled, &q);
}

void tq_div_s32(const tq_div_params_t *p, const int32_t *x, const int32_t *y, int32_t *output) {
  const tq_div_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_div_truncating, &q);
}
