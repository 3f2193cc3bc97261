/* Nordic nRF51 UART (BBC micro:bit and its QEMU model), polled. */
#include <stdint.h>

#include "tq_board.h"
#include "tq_io.h"

#define REG(off) (*(volatile uint32_t *)(TQ_UART_BASE + (off)))
#define TASKS_STARTRX REG(0x000)
#define TASKS_STARTTX REG(0x008)
#define EVENTS_RXDRDY REG(0x108)
#define EVENTS_TXDRDY REG(0x11C)
#define ENABLE REG(0x500)
#define RXD REG(0x518)
#define TXD REG(0x51C)

void tq_io_init(void) {
  ENABLE = 4;
  TASKS_STARTTX = 1;
  TASKS_STARTRX = 1;
}

int tq_io_getc(void) {
  while (!EVENTS_RXDRDY) {
  }
  /* Clear the event before reading: the read re-raises it when more bytes wait. */
  EVENTS_RXDRDY = 0;
  return (int)(RXD & 0xFFu);
}

void tq_io_putc(int c) {
  EVENTS_TXDRDY = 0;
  TXD = (uint32_t)c & 0xFFu;
  while (!EVENTS_TXDRDY) {
  }
}

void tq_io_exit(int code) {
  (void)code;
  for (;;) {
  }
}
