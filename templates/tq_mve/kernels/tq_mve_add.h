/* tinyq's own Helium int8 add of two equally shaped tensors (not part of
 * CMSIS-NN): TFLM's arithmetic (offsets, a left shift, each input and the sum
 * rescaled with MultiplyByQuantizedMultiplierSmallerThanOneExp, output offset,
 * clamp) on 4 int32 lanes per step, bit for bit. Shifts are TFLM's (<= 0).
 * Without Helium a plain C loop does the same. */
#ifndef TQ_MVE_ADD_H
#define TQ_MVE_ADD_H

#include <stdint.h>

typedef struct {
  int32_t count;
  int32_t input1_offset, input2_offset, left_shift;
  int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
  int32_t output_offset, output_multiplier, output_shift, act_min, act_max;
} tq_mve_add_params;

void tq_mve_add_s8(const tq_mve_add_params *p, const int8_t *a, const int8_t *b, int8_t *out);

#endif /* TQ_MVE_ADD_H */
