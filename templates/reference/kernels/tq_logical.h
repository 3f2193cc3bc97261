#ifndef TQ_LOGICAL_H
#define TQ_LOGICAL_H
#include "tq_broadcast.h"

/* LOGICAL_AND, LOGICAL_OR (broadcasting) and LOGICAL_NOT on bools stored one per byte. */
void tq_logical_and_b8(const tq_ndloop_t *n, const uint8_t *x, const uint8_t *y, uint8_t *output);
void tq_logical_or_b8(const tq_ndloop_t *n, const uint8_t *x, const uint8_t *y, uint8_t *output);
void tq_logical_not_b8(int32_t count, const uint8_t *input, uint8_t *output);
#endif
