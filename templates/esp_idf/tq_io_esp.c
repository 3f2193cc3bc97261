/* Console bytes on UART0 (the DevKitC-1's "UART" USB port) through the UART driver. */
#include <stdint.h>

#include "driver/uart.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "tq_io.h"

#define TQ_UART UART_NUM_0

void tq_io_init(void) {
  /* The console already configured UART0 at 115200 baud; the driver adds an RX buffer. */
  uart_driver_install(TQ_UART, 8192, 0, 0, NULL, 0);
}

int tq_io_getc(void) {
  uint8_t c;
  while (uart_read_bytes(TQ_UART, &c, 1, portMAX_DELAY) != 1) {
  }
  return c;
}

void tq_io_putc(int c) {
  const char ch = (char)c;
  uart_write_bytes(TQ_UART, &ch, 1);
}

void tq_io_exit(int code) {
  (void)code;
  uart_wait_tx_done(TQ_UART, portMAX_DELAY);
  for (;;) vTaskDelay(portMAX_DELAY);
}
