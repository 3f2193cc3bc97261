#ifndef TQ_FILL_H
#define TQ_FILL_H
#include "tq_common.h"

/* count copies of the item-byte value (1 or 4 bytes) read once from value. */
void tq_fill(const void *value, int32_t item, void *output, int32_t count);
#endif
