/* gemmlowp-style log(x) for x >= 1 (TFLite's log_x_for_x_greater_than_or_equal_to_1),
 * as LOG_SOFTMAX uses it, bit for bit on int32 raws. x in Q<input_bits>, result in
 * Q<output_bits>: log2 of x's magnitude from its leading zeros, then a rational
 * approximation of log on the normalized remainder in [sqrt(1/2), sqrt(2)). */
#ifndef TQ_LOG_H
#define TQ_LOG_H
#include "tq_fixedpoint.h"

/* CountLeadingZeros, 32 for 0. */
static inline int tq_log_clz(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* SaturatingRoundingMultiplyByPOTParam for exponents >= 0. */
static inline int32_t tq_log_shl(int32_t x, int exponent) {
  return exponent == 0 ? x : tq_fp_shl_sat(x, exponent);
}

static inline int32_t tq_log_sat(int64_t x) {
  return (int32_t)TQ_CLAMP(x, (int64_t)INT32_MIN, (int64_t)INT32_MAX);
}

static inline int32_t tq_fp_log_x_ge_1(int32_t x, int input_bits, int output_bits) {
  const int accum_bits = output_bits + 1; /* headroom for the saturating sum below */
  const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
  const int32_t one_quarter = 536870912;
  const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
  const int32_t shifted_quarter = tq_fp_rescale(one_quarter, 0, accum_bits);

  /* two normalizations of x to [1/2, 1): by its headroom (r_a), and after a factor
   * sqrt(1/2) (r_b); the smaller remainder and the matching exponent win */
  const int z_a_headroom_plus_1 = tq_log_clz((uint32_t)x);
  const int32_t r_a_tmp = tq_log_shl(x, z_a_headroom_plus_1 - 1);
  const int32_t r_a = tq_log_shl(tq_srdhm(r_a_tmp, sqrt_half), 1);
  const int32_t z_a_pow_2_adj = tq_log_sat((int64_t)tq_log_shl(input_bits - z_a_headroom_plus_1, 31 - accum_bits) +
                                           shifted_quarter);
  const int32_t z_b = tq_srdhm(x, sqrt_half);
  const int z_b_headroom = tq_log_clz((uint32_t)z_b) - 1;
  const int32_t r_b = tq_log_shl(x, z_b_headroom);
  const int32_t z_b_pow_2_adj = tq_log_sat((int64_t)tq_log_shl(input_bits - z_b_headroom, 31 - accum_bits) -
                                           shifted_quarter);
  const int32_t r = TQ_MIN(r_a, r_b);
  const int32_t z_pow_2_adj = TQ_MAX(z_a_pow_2_adj, z_b_pow_2_adj);

  /* log(r) for r around sqrt(sqrt(1/2)): num / denom in Q0 */
  const int32_t p = tq_fp_rounding_half_sum(r, sqrt_sqrt_half);
  int32_t q = tq_fp_sub(r, sqrt_sqrt_half);
  q = tq_fp_add(q, q);
  const int32_t common_sq = tq_srdhm(q, q);
  const int32_t num = tq_fp_add(tq_srdhm(q, r), tq_srdhm(tq_srdhm(q, common_sq), alpha_n));
  const int32_t denom_minus_one = tq_fp_add(tq_srdhm(p, tq_fp_add(tq_fp_add(alpha_i, q), tq_srdhm(alpha_d, common_sq))),
                                            tq_srdhm(alpha_f, q));
  const int32_t recip_denom = tq_fp_one_over_one_plus_x(denom_minus_one);
  const int32_t num_scaled = tq_fp_rescale(num, 0, accum_bits);
  const int32_t sum = tq_fp_add(tq_srdhm(z_pow_2_adj, log_2), tq_srdhm(num_scaled, recip_denom));
  return tq_fp_rescale(sum, accum_bits, output_bits);
}

#endif
