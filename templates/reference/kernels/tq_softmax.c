#include "tq_softmax.h"
#include "tq_fixedpoint.h"

/* reference_ops::Softmax for int8 input: exp() of the scaled difference to the
 * row maximum in gemmlowp fixed point, summed in Q12.19, then multiplied by the
 * sum's reciprocal. The exps are recomputed in the second pass, as TFLM does,
 * rather than stored: no scratch memory. */

enum { TQ_SOFTMAX_DIFF_BITS = 5, TQ_SOFTMAX_ACCUM_BITS = 12 };

typedef struct {
  int8_t max;
  int32_t scale;  /* reciprocal of the sum of exps, Q0 */
  int exponent;   /* right shift bringing scale * exp onto the output grid */
} tq_softmax_row_t;

static int32_t tq_softmax_exp(const tq_softmax_params_t *p, int32_t diff) {
  const int32_t scaled = tq_mbqm_big(diff, p->input_multiplier, p->input_left_shift);
  return tq_fp_exp_on_negative_values(scaled, TQ_SOFTMAX_DIFF_BITS);
}

static tq_softmax_row_t tq_softmax_row(const tq_softmax_params_t *p, const int8_t *in, int output_bits) {
  tq_softmax_row_t row;
  row.max = INT8_MIN;
  for (int32_t c = 0; c < p->depth; ++c) row.max = TQ_MAX(row.max, in[c]);
  int32_t sum = 0;
  for (int32_t c = 0; c < p->depth; ++c) {
    const int32_t diff = (int32_t)in[c] - row.max;
    if (diff >= p->diff_min) {
      sum = tq_fp_add(sum, tq_fp_rescale(tq_softmax_exp(p, diff), 0, TQ_SOFTMAX_ACCUM_BITS));
    }
  }
  int bits_over_unit;
  row.scale = tq_fp_reciprocal(sum, TQ_SOFTMAX_ACCUM_BITS, &bits_over_unit);
  row.exponent = bits_over_unit + 31 - output_bits;
  return row;
}

/* The output before the type's minimum is added and the clamp. An exponent
 * above 31 means a sum of exps of 512 or more on an 8-bit output: TFLM aborts
 * there (TFLITE_CHECK); every probability is then at most 1/512, which rounds
 * to 0 on the 1/256 grid. */
static int32_t tq_softmax_value(const tq_softmax_params_t *p, const tq_softmax_row_t *row, int8_t x) {
  if (row->exponent > 31) return 0;
  return tq_rdbpot(tq_srdhm(row->scale, tq_softmax_exp(p, (int32_t)x - row->max)), row->exponent);
}

void tq_softmax_s8(const tq_softmax_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int8_t *out = output + i * p->depth;
    const tq_softmax_row_t row = tq_softmax_row(p, in, 8);
    for (int32_t c = 0; c < p->depth; ++c) {
      if ((int32_t)in[c] - row.max >= p->diff_min) {
        const int32_t v = tq_softmax_value(p, &row, in[c]) + INT8_MIN;
        out[c] = (int8_t)TQ_CLAMP(v, INT8_MIN, INT8_MAX);
      } else {
        out[c] = INT8_MIN;
      }
    }
  }
}

void tq_softmax_s8_s16(const tq_softmax_params_t *p, const int8_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->outer_size; ++i) {
    const int8_t *in = input + i * p->depth;
    int16_t *out = output + i * p->depth;
    const tq_softmax_row_t row = tq_softmax_row(p, in, 16);
    for (int32_t c = 0; c < p->depth; ++c) {
      if ((int32_t)in[c] - row.max >= p->diff_min) {
        const int32_t v = tq_softmax_value(p, &row, in[c]) + INT16_MIN;
        out[c] = (int16_t)TQ_CLAMP(v, INT16_MIN, INT16_MAX);
      } else {
        out[c] = INT16_MIN;
      }
    }
  }
}
