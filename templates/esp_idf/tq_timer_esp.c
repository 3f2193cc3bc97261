/* CCOUNT, the Xtensa core's 32-bit cycle counter, extended to 64 bits. */
#include <stdint.h>

#include "esp_cpu.h"
#include "tq_timer.h"

static uint32_t last;
static uint64_t total;

void tq_timer_init(void) { last = (uint32_t)esp_cpu_get_cycle_count(); }

uint64_t tq_timer_ticks(void) {
  /* correct while calls are less than 2^32 cycles (17 s at 240 MHz) apart */
  uint32_t now = (uint32_t)esp_cpu_get_cycle_count();
  total += (uint32_t)(now - last);
  last = now;
  return total;
}
