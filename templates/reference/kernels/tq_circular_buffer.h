/* CIRCULAR_BUFFER as TFLM's circular_buffer.cc: a sliding window of the last inputs, and a count
 * that lets the graph run every cycles_max-th invoke only. */
#ifndef TQ_CIRCULAR_BUFFER_H
#define TQ_CIRCULAR_BUFFER_H

#include <stdint.h>

typedef struct {
  int32_t slots; /* rows the buffer holds */
  int32_t depth; /* bytes of one row */
  int32_t cycles_max; /* >= 1 */
} tq_circular_buffer_params_t;

/* Moves the rows up one, writes `input` as the last, and counts the invoke: 0 when the graph runs
 * on (the count restarts), -1 when TFLM would end the invoke here (kTfLiteAbort). `count` is 0
 * after reset (TFLM's cycles_until_run = cycles_max). */
int tq_circular_buffer_s8(const tq_circular_buffer_params_t *p, const int8_t *input, int8_t *buffer,
                          int32_t *count);

#endif
