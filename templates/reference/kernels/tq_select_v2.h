#ifndef TQ_SELECT_V2_H
#define TQ_SELECT_V2_H
#include "tq_ndloop.h"

/* SELECT_V2: output = cond ? x : y, all three broadcast (TFLM's BroadcastSelectSimple). Two loop
 * nests with the same counts (tinyq/ops/ndloops.py broadcast_nests) step the condition and x,
 * and y, in lockstep. */
typedef struct {
  tq_ndloop_t cond_x; /* stride_a steps the condition, stride_b x */
  tq_ndloop_t y;      /* stride_a steps y */
} tq_select_v2_params_t;

void tq_select_v2_s8(const tq_select_v2_params_t *p, const uint8_t *cond, const int8_t *x, const int8_t *y,
                     int8_t *output);
void tq_select_v2_s16(const tq_select_v2_params_t *p, const uint8_t *cond, const int16_t *x, const int16_t *y,
                      int16_t *output);
void tq_select_v2_f32(const tq_select_v2_params_t *p, const uint8_t *cond, const float *x, const float *y,
                      float *output);
#endif
