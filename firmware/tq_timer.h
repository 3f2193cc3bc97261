/* A free-running tick counter for timing one inference. The tick rate is the
 * board's tick_hz (TQ_TICK_HZ); under QEMU -icount shift=0 one virtual ns is
 * one instruction, so ticks * 1e9 / TQ_TICK_HZ counts instructions. */
#ifndef TQ_TIMER_H
#define TQ_TIMER_H

#include <stdint.h>

void tq_timer_init(void);
uint64_t tq_timer_ticks(void);

#endif
