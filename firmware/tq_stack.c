/* Stack high-water mark: the reset handler paints the stack with a pattern, and
 * the deepest word no longer holding it is how much stack the run has used. */
#include <stdint.h>

#include "tq_stack.h"

#define PAINT 0xA5A5A5A5u

extern uint32_t __stack_bottom__[], __stack_top__[];

void tq_stack_paint(void) {
  uint32_t *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  /* stop short of the frames live now */
  for (volatile uint32_t *p = __stack_bottom__; p < sp - 16;) *p++ = PAINT;
}

uint32_t tq_stack_used(void) {
  const uint32_t *p = __stack_bottom__;
  while (p < __stack_top__ && *p == PAINT) ++p;
  return (uint32_t)((uintptr_t)__stack_top__ - (uintptr_t)p);
}
