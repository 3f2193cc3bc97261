/* Clipping a sliding window to the input, shared by convolution and pooling.
 * TFLM tests every tap against the input bounds; computing the first and last
 * valid taps once per output row/column visits exactly the same taps. */
#ifndef TQ_WINDOW_H
#define TQ_WINDOW_H
#include <stdint.h>

/* First tap t with origin + t * dilation >= 0. */
static inline int32_t tq_window_begin(int32_t origin, int32_t dilation) {
  return origin >= 0 ? 0 : (-origin + dilation - 1) / dilation;
}

/* One past the last tap t < taps with origin + t * dilation < size. */
static inline int32_t tq_window_end(int32_t origin, int32_t dilation, int32_t size, int32_t taps) {
  const int32_t room = size - origin;
  if (room <= 0) return 0;
  const int32_t end = (room + dilation - 1) / dilation;
  return end < taps ? end : taps;
}

#endif
