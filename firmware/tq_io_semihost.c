/* Console bytes over Arm semihosting: through the debug probe (pyOCD, OpenOCD)
 * or QEMU -semihosting. Slow per byte but needs no pins or drivers. */
#include <stdint.h>

#include "tq_io.h"
#include "tq_semihost.h"

void tq_io_init(void) {}

int tq_io_getc(void) { return tq_semihost(TQ_SYS_READC, 0) & 0xFF; }

void tq_io_putc(int c) {
  char ch = (char)c;
  tq_semihost(TQ_SYS_WRITEC, &ch);
}

void tq_io_exit(int code) {
  /* The 32-bit SYS_EXIT takes only the reason code; the status is lost. */
  (void)code;
  tq_semihost(TQ_SYS_EXIT, (const void *)TQ_ADP_STOPPED_APPLICATION_EXIT);
  for (;;) {
  }
}
