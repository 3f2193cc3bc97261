/* Arm semihosting calls (a BKPT 0xAB the debugger or QEMU -semihosting serves).
 * Without a host serving them the BKPT faults, so only call these when one is known
 * to be attached. */
#ifndef TQ_SEMIHOST_H
#define TQ_SEMIHOST_H

#include <stdint.h>

#define TQ_SYS_OPEN 0x01
#define TQ_SYS_CLOSE 0x02
#define TQ_SYS_WRITEC 0x03
#define TQ_SYS_READ 0x06
#define TQ_SYS_READC 0x07
#define TQ_SYS_EXIT 0x18
#define TQ_ADP_STOPPED_APPLICATION_EXIT 0x20026

static inline int32_t tq_semihost(int32_t op, const void *arg) {
  register int32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

#endif
