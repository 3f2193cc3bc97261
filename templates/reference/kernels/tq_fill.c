#include "tq_fill.h"

/* TFLM's Fill: every element is the value, bit for bit (no rescaling of int8). */
void tq_fill(const void *value, int32_t item, void *output, int32_t count) {
  if (item == 1) {
    memset(output, *(const uint8_t *)value, (size_t)count);
    return;
  }
  uint32_t bits;
  memcpy(&bits, value, sizeof bits);
  uint32_t *out = (uint32_t *)output;
  for (int32_t i = 0; i < count; ++i) out[i] = bits;
}
