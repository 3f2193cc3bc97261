#include "tq_fault.h"

#include "tq_console.h"
#include "tq_io.h"

#define ICSR (*(volatile uint32_t *)0xE000ED04u)
#define CFSR (*(volatile uint32_t *)0xE000ED28u)

void tq_fault_report(const uint32_t *frame) {
  tq_puts("\ntinyq-fault exception=");
  tq_put_u64(ICSR & 0x1FFu);
  if (frame) {
    tq_puts(" pc=");
    tq_put_hex32(frame[6]);
    tq_puts(" lr=");
    tq_put_hex32(frame[5]);
  }
#if __ARM_ARCH_ISA_THUMB == 2
  /* Armv6-M and v8-M baseline have no CFSR: reading it would fault again */
  tq_puts(" cfsr=");
  tq_put_hex32(CFSR);
#endif
  tq_puts("\n");
  tq_io_exit(1);
  for (;;) {
  }
}

void tq_fault_exit(int code) {
  tq_puts("tinyq-exit ");
  tq_put_u64((uint64_t)(uint32_t)code);
  tq_puts("\n");
  tq_io_exit(code);
  for (;;) {
  }
}
