/* gemmlowp-style fixed-point math, as TFLite Micro's SOFTMAX, LOGISTIC, TANH and
 * HARD_SWISH use it, reproduced bit for bit on plain int32/int16 raw values.
 *
 * A value "in Qn" has n integer bits: real = raw / 2^(31 - n) (int32 raws).
 * gemmlowp leaves integer overflow undefined; TFLM runs it on two's-complement
 * hardware, so additions here wrap through uint32 to give the same bits without
 * undefined behaviour. The int16 helpers mirror gemmlowp's int16 instantiations,
 * which compute in int and truncate to int16 after every step. */
#ifndef TQ_FIXEDPOINT_H
#define TQ_FIXEDPOINT_H
#include "tq_common.h"

static inline int32_t tq_fp_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tq_fp_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* SaturatingRoundingMultiplyByPOT for a positive exponent: a saturating left shift
 * (gemmlowp saturates one step early on the negative side; the value is the same). */
static inline int32_t tq_fp_shl_sat(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)(((int32_t)1 << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* Rescale<dst>(FixedPoint<src>): change the number of integer bits. */
static inline int32_t tq_fp_rescale(int32_t x, int src_integer_bits, int dst_integer_bits) {
  const int exponent = src_integer_bits - dst_integer_bits;
  if (exponent > 0) return tq_fp_shl_sat(x, exponent);
  if (exponent < 0) return tq_rdbpot(x, -exponent);
  return x;
}

/* (a + b) / 2 rounded half away from zero, in 64 bits. */
static inline int32_t tq_fp_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0 in and out: Taylor series around -1/8. */
static inline int32_t tq_fp_exp_quarter(int32_t a) {
  const int32_t exp_minus_one_eighth = 1895147668;
  const int32_t one_third = 715827883;
  const int32_t x = tq_fp_add(a, (int32_t)1 << 28); /* a + 1/8 */
  const int32_t x2 = tq_srdhm(x, x);
  const int32_t x3 = tq_srdhm(x2, x);
  const int32_t x4 = tq_srdhm(x2, x2);
  const int32_t x4_over_4 = tq_rdbpot(x4, 2);
  const int32_t tail = tq_rdbpot(tq_fp_add(tq_srdhm(tq_fp_add(x4_over_4, x3), one_third), x2), 1);
  return tq_fp_add(exp_minus_one_eighth, tq_srdhm(exp_minus_one_eighth, tq_fp_add(x, tail)));
}

/* exp(a) for a <= 0 given in Q<integer_bits> (integer_bits <= 29), result in Q0:
 * exp of a's fraction modulo 1/4, times exp(-2^k) for every set bit k of the rest. */
static inline int32_t tq_fp_exp_on_negative_values(int32_t a, int integer_bits) {
  /* exp(-2^k) in Q0 for k = -2 .. 4 */
  static const int32_t exp_minus_pot[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t a_mod_quarter_minus_quarter = tq_fp_sub(a & (one_quarter - 1), one_quarter);
  const int32_t remainder = tq_fp_sub(a_mod_quarter_minus_quarter, a);
  int32_t result = tq_fp_exp_quarter(tq_fp_rescale(a_mod_quarter_minus_quarter, integer_bits, 0));
  for (int k = -2; k <= 4; ++k) {
    if (integer_bits > k && (remainder & ((int32_t)1 << (fractional_bits + k)))) {
      result = tq_srdhm(result, exp_minus_pot[k + 2]);
    }
  }
  if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) result = 0; /* below -32 */
  return a == 0 ? INT32_MAX : result;
}

/* Newton-Raphson for 1 / half_denominator, half_denominator in Q0 within [1/2, 1):
 * returns the Q2 estimate after gemmlowp's three iterations from 48/17 - 32/17 d. */
static inline int32_t tq_fp_reciprocal_q2(int32_t half_denominator) {
  const int32_t one_q2 = (int32_t)1 << 29;
  int32_t x = tq_fp_add(1515870810, tq_srdhm(half_denominator, -1010580540));
  for (int i = 0; i < 3; ++i) {
    const int32_t one_minus_dx = tq_fp_sub(one_q2, tq_srdhm(half_denominator, x));
    x = tq_fp_add(x, tq_fp_rescale(tq_srdhm(x, one_minus_dx), 4, 2));
  }
  return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0 in and out. */
static inline int32_t tq_fp_one_over_one_plus_x(int32_t a) {
  const int32_t x = tq_fp_reciprocal_q2(tq_fp_rounding_half_sum(a, INT32_MAX));
  return tq_fp_rescale(x, 1, 0); /* x / 2, read as Q1 */
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0 in and out. */
static inline int32_t tq_fp_one_minus_x_over_one_plus_x(int32_t a) {
  const int32_t x = tq_fp_reciprocal_q2(tq_fp_rounding_half_sum(a, INT32_MAX));
  return tq_fp_rescale(tq_fp_sub(x, (int32_t)1 << 29), 2, 0);
}

/* logistic(a) = 1 / (1 + exp(-a)), a in Q<integer_bits>, result in Q0. */
static inline int32_t tq_fp_logistic(int32_t a, int integer_bits) {
  if (a == 0) return (int32_t)1 << 30;
  const int32_t minus_abs = a > 0 ? tq_fp_sub(0, a) : a;
  const int32_t positive = tq_fp_one_over_one_plus_x(tq_fp_exp_on_negative_values(minus_abs, integer_bits));
  return a > 0 ? positive : tq_fp_sub(INT32_MAX, positive);
}

/* tanh(a) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)) with a's sign; a in Q<integer_bits>,
 * result in Q0. Doubling |a| is exact: the same raw read with one more integer bit. */
static inline int32_t tq_fp_tanh(int32_t a, int integer_bits) {
  if (a == 0) return 0;
  const int32_t minus_abs = a < 0 ? a : tq_fp_sub(0, a);
  const int32_t t = tq_fp_one_minus_x_over_one_plus_x(tq_fp_exp_on_negative_values(minus_abs, integer_bits + 1));
  return a < 0 ? tq_fp_sub(0, t) : t;
}

/* Count of leading zero bits; x != 0. */
static inline int tq_fp_clz32(uint32_t x) {
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* GetReciprocal: 1 / x for x > 0 in Q<integer_bits>, as a Q0 value shifted_scale
 * with 1/x = shifted_scale / 2^num_bits_over_unit. */
static inline int32_t tq_fp_reciprocal(int32_t x, int integer_bits, int *num_bits_over_unit) {
  const int headroom_plus_one = tq_fp_clz32((uint32_t)x);
  *num_bits_over_unit = integer_bits - headroom_plus_one;
  const int32_t shifted_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - 0x80000000u);
  return tq_fp_one_over_one_plus_x(shifted_minus_one);
}

/* --- int16 raws (gemmlowp's int16 instantiations) --- */

static inline int16_t tq_srdhm16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return (int16_t)((ab + nudge) / (1 << 15));
}

/* RoundingDivideByPOT on int16, exponent 0..31. For exponents of 16 and more the
 * int16 mask truncates to -1, which gemmlowp's int16 code does too. */
static inline int16_t tq_rdbpot16(int16_t x, int exponent) {
  const int16_t mask = (int16_t)(((int64_t)1 << exponent) - 1);
  const int16_t remainder = (int16_t)(x & mask);
  const int16_t threshold = (int16_t)((int16_t)(mask >> 1) + (x < 0 ? 1 : 0));
  return (int16_t)((int16_t)(x >> exponent) + (remainder > threshold ? 1 : 0));
}

#endif
