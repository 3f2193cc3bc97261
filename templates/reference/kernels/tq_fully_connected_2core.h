/* fully_connected over output channels [oc0, oc1) of a one-batch op. oc0 is a multiple of
 * eight (tinyq/plan/cores.py), so the part starts at a block of the blocked weights. */
#ifndef TQ_FULLY_CONNECTED_2CORE_H
#define TQ_FULLY_CONNECTED_2CORE_H
#include "tq_fully_connected.h"

static inline void tq_fully_connected_s8_channels(const tq_fully_connected_params_t *p, int32_t oc0, int32_t oc1,
                                                  const int8_t *input, const int8_t *filter, int8_t *output) {
  tq_fully_connected_params_t part = *p;
  part.output_depth = oc1 - oc0;
  part.multiplier = p->multiplier + oc0;
  part.shift = p->shift + oc0;
  part.acc_init = p->acc_init + oc0;
  tq_fully_connected_s8(&part, input, filter + oc0 * p->accum_depth, output + oc0);
}
#endif
