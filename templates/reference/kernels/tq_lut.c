#include "tq_lut.h"

/* TFLM's order: the table entry of input value v is table[(uint8_t)v]. Element i is read
 * before it is written and never again, so the output may overwrite the input. */
void tq_lut_s8(int32_t size, const int8_t *table, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < size; ++i) {
    output[i] = table[(uint8_t)input[i]];
  }
}
