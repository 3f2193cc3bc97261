#ifndef TQ_CAST_H
#define TQ_CAST_H
#include "tq_common.h"

/* tq_cast_<from>_<to>(input, output, count): s8/s16/s32/u32 integers, f32 float, b8 bool (one byte). */
#define TQ_CAST_DECLARE(FROM_NAME, FROM_T)                                           \
  void tq_cast_##FROM_NAME##_s8(const FROM_T *input, int8_t *output, int32_t count);   \
  void tq_cast_##FROM_NAME##_s16(const FROM_T *input, int16_t *output, int32_t count); \
  void tq_cast_##FROM_NAME##_s32(const FROM_T *input, int32_t *output, int32_t count); \
  void tq_cast_##FROM_NAME##_f32(const FROM_T *input, float *output, int32_t count);
TQ_CAST_DECLARE(s8, int8_t)
TQ_CAST_DECLARE(s16, int16_t)
TQ_CAST_DECLARE(s32, int32_t)
TQ_CAST_DECLARE(u32, uint32_t)
TQ_CAST_DECLARE(f32, float)
TQ_CAST_DECLARE(b8, uint8_t)
#undef TQ_CAST_DECLARE
/* to uint32 (modulo 2^32): every source but float32 */
void tq_cast_s8_u32(const int8_t *input, uint32_t *output, int32_t count);
void tq_cast_s16_u32(const int16_t *input, uint32_t *output, int32_t count);
void tq_cast_s32_u32(const int32_t *input, uint32_t *output, int32_t count);
void tq_cast_u32_u32(const uint32_t *input, uint32_t *output, int32_t count);
void tq_cast_b8_u32(const uint8_t *input, uint32_t *output, int32_t count);
#endif
