/* int4 weights kept packed in flash, two per byte, as TFLite stores them and
 * CMSIS-NN's s4 kernels read them: element i of the flattened tensor is in
 * byte i / 2, the low nibble when i is even. Rows of an odd length straddle
 * bytes, so kernels index the whole tensor, never a row's own bytes.
 * Sign extension by arithmetic on unsigned values: no implementation-defined
 * shifts of negative numbers (TFLM's UnpackDenseInt4IntoInt8 gives the same). */
#ifndef TQ_INT4_H
#define TQ_INT4_H
#include <stdint.h>

static inline int32_t tq_s4_at(const int8_t *packed, int32_t i) {
  const uint32_t byte = (uint8_t)packed[i >> 1];
  const uint32_t nibble = (i & 1) ? (byte >> 4) : (byte & 0x0Fu);
  return (int32_t)(nibble ^ 0x08u) - 8;
}

#endif
