/* Arm CMSDK APB UART (MPS2/MPS3 FPGA images and their QEMU models), polled. */
#include <stdint.h>

#include "tq_board.h"
#include "tq_io.h"

#define UART_DATA (*(volatile uint32_t *)(TQ_UART_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(TQ_UART_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(TQ_UART_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(TQ_UART_BASE + 0x10))

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u

void tq_io_init(void) {
  /* The divider only matters on the FPGA; 16 is the smallest legal value. */
  UART_BAUDDIV = TQ_UART_BAUDDIV;
  UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

int tq_io_getc(void) {
  while (!(UART_STATE & STATE_RX_FULL)) {
  }
  return (int)(UART_DATA & 0xFFu);
}

void tq_io_putc(int c) {
  while (UART_STATE & STATE_TX_FULL) {
  }
  UART_DATA = (uint32_t)c & 0xFFu;
}

void tq_io_exit(int code) {
  (void)code;
  for (;;) {
  }
}
