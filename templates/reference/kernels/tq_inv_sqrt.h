/* TFLite's GetInvSqrtQuantizedMultiplierExp, bit for bit: 1/sqrt(x) for x > 1 as a Q31
 * multiplier and a shift, by five Newton-Raphson steps in gemmlowp's Q3.28 from 1.
 * tinyq.qmath.inv_sqrt_quantized_multiplier_exp is the same code in Python. */
#ifndef TQ_INV_SQRT_H
#define TQ_INV_SQRT_H
#include "tq_fixedpoint.h"

static inline void tq_inv_sqrt_multiplier_exp(int32_t x, int reverse_shift, int32_t *multiplier, int *shift) {
  if (x <= 1) { /* 0 and 1 (and the negative sums of a wrapped accumulator) as 1 */
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  int s = 11;
  while (x >= ((int32_t)1 << 29)) {
    x /= 4;
    ++s;
  }
  const int leading_zeros = tq_fp_clz32((uint32_t)x);
  const int pairs = (leading_zeros - 1) / 2 - 1; /* brings x to [2^27, 2^29) */
  s -= pairs;
  x = (int32_t)((uint32_t)x << (2 * pairs));
  const int32_t half_input = tq_rdbpot(x >> 1, 1);       /* x / 2 in Q3.28 */
  const int32_t half_three = ((int32_t)1 << 28) + ((int32_t)1 << 27);
  int32_t r = (int32_t)1 << 28;                          /* 1.0 in Q3.28 */
  for (int i = 0; i < 5; ++i) {
    const int32_t r3 = tq_fp_shl_sat(tq_srdhm(tq_srdhm(r, r), r), 6);  /* Q9.22 -> Q3.28 */
    r = tq_fp_shl_sat(tq_fp_sub(tq_srdhm(half_three, r), tq_srdhm(half_input, r3)), 3);
  }
  r = tq_srdhm(r, 1518500250); /* times sqrt(2)/2 */
  if (s < 0) {
    r = (int32_t)((uint32_t)r << -s);
    s = 0;
  }
  *multiplier = r;
  *shift = s * reverse_shift;
}

#endif
