/* Batch input: records read in bulk from a file on the host, for simulators
 * where feeding megabytes through an emulated UART one byte at a time is the
 * bottleneck (QEMU hands each received byte between threads). */
#ifndef TQ_RECORDS_H
#define TQ_RECORDS_H

#include <stdint.h>

/* Opens the record file; returns 0 on success, else a message. */
const char *tq_records_open(void);
/* Reads the next record of `n` bytes; returns 1, or 0 at the end of the file. */
int tq_records_next(uint8_t *buf, uint32_t n);
/* Ends the batch session (exits the simulator when it can). */
void tq_records_finish(void);

#endif
