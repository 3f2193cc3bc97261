#include "tq_cast.h"

/* TFLM's CAST converts with static_cast. Integer narrowing keeps the low bits (what C's
 * conversion does on every compiler tinyq targets), integers round to the nearest float.
 * Out-of-range float -> integer is undefined in C; the golden TFLM truncates toward zero and
 * saturates to the target type (NaN -> 0), so that is spelled out here rather than left to
 * each target's instructions. Each element is read before it is written (in place is safe
 * for same-size types). */
static inline int32_t tq_float_to_int(float f, int32_t lo, int32_t hi) {
  if (f != f) return 0;
  if (f <= (float)lo) return lo;
  if (f >= (float)hi) return hi; /* (float)INT32_MAX is 2^31: anything from there saturates */
  return (int32_t)f;
}

#define TQ_CONVERT_INT(v) (v)
#define TQ_CONVERT_BOOL(v) ((v) != 0)
#define TQ_CAST_LOOP(NAME, FROM_T, TO_T, EXPR)                           \
  void NAME(const FROM_T *input, TO_T *output, int32_t count) {          \
    for (int32_t i = 0; i < count; ++i) {                                \
      const FROM_T v = input[i];                                         \
      output[i] = (TO_T)(EXPR);                                          \
    }                                                                    \
  }
#define TQ_CAST_FROM_INT(FROM_NAME, FROM_T, CONVERT)                                   \
  TQ_CAST_LOOP(tq_cast_##FROM_NAME##_s8, FROM_T, int8_t, CONVERT(v))                   \
  TQ_CAST_LOOP(tq_cast_##FROM_NAME##_s16, FROM_T, int16_t, CONVERT(v))                 \
  TQ_CAST_LOOP(tq_cast_##FROM_NAME##_s32, FROM_T, int32_t, CONVERT(v))                 \
  TQ_CAST_LOOP(tq_cast_##FROM_NAME##_f32, FROM_T, float, CONVERT(v))

TQ_CAST_FROM_INT(s8, int8_t, TQ_CONVERT_INT)
TQ_CAST_FROM_INT(s16, int16_t, TQ_CONVERT_INT)
TQ_CAST_FROM_INT(s32, int32_t, TQ_CONVERT_INT)
TQ_CAST_FROM_INT(u32, uint32_t, TQ_CONVERT_INT)
TQ_CAST_FROM_INT(b8, uint8_t, TQ_CONVERT_BOOL)

TQ_CAST_LOOP(tq_cast_f32_s8, float, int8_t, tq_float_to_int(v, INT8_MIN, INT8_MAX))
TQ_CAST_LOOP(tq_cast_f32_s16, float, int16_t, tq_float_to_int(v, INT16_MIN, INT16_MAX))
TQ_CAST_LOOP(tq_cast_f32_s32, float, int32_t, tq_float_to_int(v, INT32_MIN, INT32_MAX))
TQ_CAST_LOOP(tq_cast_f32_f32, float, float, v)

TQ_CAST_LOOP(tq_cast_s8_u32, int8_t, uint32_t, v)
TQ_CAST_LOOP(tq_cast_s16_u32, int16_t, uint32_t, v)
TQ_CAST_LOOP(tq_cast_s32_u32, int32_t, uint32_t, v)
TQ_CAST_LOOP(tq_cast_u32_u32, uint32_t, uint32_t, v)
TQ_CAST_LOOP(tq_cast_b8_u32, uint8_t, uint32_t, TQ_CONVERT_BOOL(v))
