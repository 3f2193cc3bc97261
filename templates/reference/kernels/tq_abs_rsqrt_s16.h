#ifndef TQ_ABS_RSQRT_S16_H
#define TQ_ABS_RSQRT_S16_H
#include "tq_common.h"

/* int16 ABS and RSQRT (TFLM's elementwise.cc; zero points 0, as its Prepare requires). */
typedef struct {
  int32_t size;
  int32_t rescale;          /* ABS: the scales differ as float32 (TFLM's needs_rescale) */
  int32_t multiplier, shift; /* RSQRT: shift already less the 20 bits of headroom */
  int32_t wraps;            /* ABS of an unquantized input: |-32768| stored back wraps to -32768 */
} tq_abs_rsqrt_s16_params_t;

void tq_abs_s16(const tq_abs_rsqrt_s16_params_t *p, const int16_t *input, int16_t *output);
void tq_rsqrt_s16(const tq_abs_rsqrt_s16_params_t *p, const int16_t *input, int16_t *output);
#endif
