/* What the firmware says when it cannot go on: one "tinyq-fault" line the host
 * turns into an error, then the session ends. */
#ifndef TQ_FAULT_H
#define TQ_FAULT_H

#include <stdint.h>

/* `frame` is the exception stack frame (r0-r3, r12, lr, pc, xpsr), or 0. */
__attribute__((noreturn)) void tq_fault_report(const uint32_t *frame);
__attribute__((noreturn)) void tq_fault_exit(int code);

#endif
