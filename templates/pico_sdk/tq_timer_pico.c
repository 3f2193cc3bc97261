/* The RP2040 system timer: 64 bits of microseconds, no wrap to handle. */
#include "hardware/timer.h"
#include "tq_timer.h"

void tq_timer_init(void) {}

uint64_t tq_timer_ticks(void) { return time_us_64(); }
