#include "tq_requantize.h"

/* reference_ops::Requantize. Its int8<->uint8 xor fast path gives the same bytes
 * as this general one (the multiplier is then exactly 1), so it needs no copy. */
#define TQ_REQUANTIZE_DEFINE(in_name, in_t, out_name, out_t, lo, hi)                                   \
  void tq_requantize_##in_name##_##out_name(const tq_requantize_params_t *p, const in_t *input,      \
                                            out_t *output) {                                         \
    for (int32_t i = 0; i < p->size; ++i) {                                                          \
      const int32_t x = (int32_t)((uint32_t)input[i] - (uint32_t)p->input_zero_point);              \
      const int32_t v = (int32_t)((uint32_t)tq_mbqm(x, p->multiplier, p->shift) +                   \
                                  (uint32_t)p->output_zero_point);                                   \
      output[i] = (out_t)TQ_CLAMP(v, lo, hi);                                                        \
    }                                                                                                \
  }
TQ_REQUANTIZE_DEFINE(s8, int8_t, s8, int8_t, INT8_MIN, INT8_MAX)
TQ_REQUANTIZE_DEFINE(s8, int8_t, u8, uint8_t, 0, UINT8_MAX)
TQ_REQUANTIZE_DEFINE(s8, int8_t, s16, int16_t, INT16_MIN, INT16_MAX)
TQ_REQUANTIZE_DEFINE(s8, int8_t, s32, int32_t, INT32_MIN, INT32_MAX)
TQ_REQUANTIZE_DEFINE(u8, uint8_t, s8, int8_t, INT8_MIN, INT8_MAX)
TQ_REQUANTIZE_DEFINE(s16, int16_t, s8, int8_t, INT8_MIN, INT8_MAX)
TQ_REQUANTIZE_DEFINE(s16, int16_t, s16, int16_t, INT16_MIN, INT16_MAX)
TQ_REQUANTIZE_DEFINE(s16, int16_t, s32, int32_t, INT32_MIN, INT32_MAX)
TQ_REQUANTIZE_DEFINE(s32, int32_t, s8, int8_t, INT8_MIN, INT8_MAX)
TQ_REQUANTIZE_DEFINE(s32, int32_t, s16, int16_t, INT16_MIN, INT16_MAX)
