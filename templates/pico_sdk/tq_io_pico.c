/* Console bytes through the Pico SDK's stdio (USB CDC and/or UART0). */
#include <stdio.h>

#include "pico/stdlib.h"
#include "tq_io.h"

void tq_io_init(void) {
  stdio_init_all();
#if LIB_PICO_STDIO_USB
  /* Over USB the ready line is lost unless the host has opened the port: wait
   * for it a while (a host arriving later sends "h" to see the line again). */
  for (int i = 0; i < 300 && !stdio_usb_connected(); ++i) sleep_ms(10);
#endif
}

int tq_io_getc(void) { return getchar() & 0xFF; }

void tq_io_putc(int c) { putchar_raw(c); }

void tq_io_exit(int code) {
  (void)code;
  stdio_flush();
  for (;;) tight_loop_contents();
}
