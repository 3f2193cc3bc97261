#include "tq_mean_s16.h"

/* reference_ops::QuantizedMeanOrSum<int16_t> (MEAN and SUM), tq_mean.c's loops: an int32 sum
 * per output, the zero points removed in one subtraction, one rescale. TFLM sums in input
 * order; int32 addition wraps the same in any order, so the loop nest may be reordered. */
void tq_mean_s16(const tq_mean_params_t *p, const int16_t *input, int16_t *output) {
  const tq_ndloop_t *in = &p->inner;
  const int32_t last = in->rank - 1;
  const int32_t count = in->shape[last], stride = in->stride_a[last];
  int32_t outer_index[TQ_NDLOOP_MAX] = {0}, inner_index[TQ_NDLOOP_MAX] = {0};
  int32_t base = 0, unused = 0;
  do {
    uint32_t sum = 0;
    int32_t offset = base, unused_inner = 0;
    do {
      for (int32_t i = 0; i < count; ++i) sum += (uint32_t)(int32_t)input[offset + i * stride];
    } while (tq_ndloop_step(in, last, inner_index, &offset, &unused_inner));
    const int32_t shifted = (int32_t)(sum - (uint32_t)p->zero_point_sum);
    const int32_t v = tq_wrap_add(tq_mbqm(shifted, p->multiplier, p->shift), p->output_zero_point);
    *output++ = (int16_t)TQ_CLAMP(v, INT16_MIN, INT16_MAX);
  } while (tq_ndloop_step(&p->outer, p->outer.rank, outer_index, &base, &unused));
}
