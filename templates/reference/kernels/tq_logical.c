#include "tq_logical.h"

/* A stored bool is 0 or 1 (TFLM reads it as C++ bool); any other byte counts as true here. */
#define TQ_AND(ctx, a, b) ((uint8_t)((a) != 0 && (b) != 0))
#define TQ_OR(ctx, a, b) ((uint8_t)((a) != 0 || (b) != 0))

void tq_logical_and_b8(const tq_ndloop_t *n, const uint8_t *x, const uint8_t *y, uint8_t *output) {
  TQ_BROADCAST2(n, x, y, output, TQ_AND, 0);
}

void tq_logical_or_b8(const tq_ndloop_t *n, const uint8_t *x, const uint8_t *y, uint8_t *output) {
  TQ_BROADCAST2(n, x, y, output, TQ_OR, 0);
}

void tq_logical_not_b8(int32_t count, const uint8_t *input, uint8_t *output) {
  for (int32_t i = 0; i < count; ++i) output[i] = (uint8_t)(input[i] == 0);
}
