#include "tq_circular_buffer.h"

#include <string.h>

int tq_circular_buffer_s8(const tq_circular_buffer_params_t *p, const int8_t *input, int8_t *buffer,
                          int32_t *count) {
  const int32_t kept = (p->slots - 1) * p->depth;
  memmove(buffer, buffer + p->depth, (size_t)kept);
  memcpy(buffer + kept, input, (size_t)p->depth);
  *count += 1;
  if (*count != p->cycles_max) return -1;
  *count = 0;
  return 0;
}
