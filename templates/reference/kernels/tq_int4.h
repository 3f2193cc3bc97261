/* int4 weights kept packed in flash, two per byte, as TFLite stores them and
 * CMSIS-NN's s4 kernels read them: element i of the flattened tensor is in
 * byte i / 2, the low nibble when i is even. Rows of an odd length straddle
 * bytes, so kernels index the whole tensor, never a row's own bytes.
 * Sign extension by arithmetic on unsigned values: no implementation-defined
 * shifts of negative numbers (TFLM's UnpackDenseInt4IntoInt8 gives the same). */
#ifndef TQ_INT4_H
#define TQ_INT4_H
#include <stdint.h>

#include "tq_common.h"

static inline int32_t tq_s4_at(const int8_t *packed, int32_t i) {
  const uint32_t byte = (uint8_t)packed[i >> 1];
  const uint32_t nibble = (i & 1) ? (byte >> 4) : (byte & 0x0Fu);
  return (int32_t)(nibble ^ 0x08u) - 8;
}

/* sum over k < n of weight(first + k) * (x[k] + x_offset): n consecutive weights,
 * two per byte load once past an odd start. Integer sums, so the order does not
 * change the result. */
static inline int32_t tq_s4_dot(const int8_t *packed, int32_t first, const int8_t *x, int32_t n,
                                int32_t x_offset) {
  int32_t acc = 0, k = 0;
  if ((first & 1) && n > 0) {
    acc = tq_wrap_add(acc, tq_s4_at(packed, first) * (x[0] + x_offset));
    k = 1;
  }
  const int8_t *p = packed + ((first + k) >> 1);
  for (; k + 1 < n; k += 2) {
    const uint32_t byte = (uint8_t)*p++;
    acc = tq_wrap_add(acc, ((int32_t)((byte & 0x0Fu) ^ 0x08u) - 8) * (x[k] + x_offset));
    acc = tq_wrap_add(acc, ((int32_t)((byte >> 4) ^ 0x08u) - 8) * (x[k + 1] + x_offset));
  }
  if (k < n) acc = tq_wrap_add(acc, tq_s4_at(packed, first + k) * (x[k] + x_offset));
  return acc;
}

#endif
