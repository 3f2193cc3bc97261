/* SysTick on the processor clock, extended to 64 bits by counting wraps. */
#include <stdint.h>

#include "tq_timer.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define RELOAD 0x00FFFFFFu

static volatile uint32_t wraps;

void SysTick_Handler(void) { wraps++; }

void tq_timer_init(void) {
  SYST_RVR = RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 0x7u; /* enable, interrupt on wrap, processor clock */
  /* The write leaves the counter at 0 until its next reload, which counts no wrap:
   * a reading taken before then would be a whole period ahead of the later ones. */
  while (SYST_CVR == 0) {
  }
}

uint64_t tq_timer_ticks(void) {
  uint32_t before, value, after;
  /* A wrap between the two reads of `wraps` would pair a new value with an old count. */
  do {
    before = wraps;
    value = SYST_CVR;
    after = wraps;
  } while (before != after);
  return ((uint64_t)before << 24) + (RELOAD - value);
}
